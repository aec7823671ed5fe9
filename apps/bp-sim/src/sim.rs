//! [`BoxSim`]: one box running the firmware's cycle against a server (`legacy-protocol.md` §3).
//!
//! ```text
//! serverinfos ─50 ms─ mystatus ─50 ms─ myactions ─┬─ done (alarm order, if any)
//!                                                  └─ per action: execute, then done
//! ```
//! Each step runs only if the previous one succeeded; the first failure ends the cycle with a
//! [`CycleError`] (on the real box, about 20 s of network re-init: see [`ERROR_PAUSE`]). What
//! the cycle did up to that point stays readable in [`BoxSim::last_report`], and its effects on
//! the [`House`] and the [`Table`] stay applied.
//!
//! # The `_de67f` alarm order
//! It is handled before the actions. Like the firmware, the sim acts on it only if cell 407
//! (`Alarme_AccesADistance`) is non-zero, and then acks its guid with `done`; with 407 = 0 it is
//! recorded, not acked (the server will send it again). With a key, the order is decrypted and an
//! `ALARMEON`/`ALARMEOFF` sets/clears bit 0 of cell 920 (`EtatBP1`, "alarm armed") at once — a
//! simplification: the real alarm runs its exit delay and its own state machine. An order that
//! cannot be read is still acked when 407 ≠ 0 (what the firmware does then is not documented).
//!
//! # The box key
//! The key cells 922–937 start as the configured key (low nibble first). If an action writes
//! them and they still hold 32 BCD digits, the sim adopts the new key from the next request on
//! — already the `done` of the action that wrote them — with a new matricule and client id: the
//! firmware derives the matricule from those cells for every request. A box configured without
//! a key stays without one.

use std::{net::SocketAddr, time::Duration};

use essensys_core::{matricule::Key, ClientId, Index, Param, Value};

pub use crate::error::{CycleError, Phase};
use crate::{
    alarm::{self, AlarmWord},
    exchange::{exchange, Timing},
    house::{self, DeviceChange, House, Table},
    judge::{self, AlarmOrder, CREATED_201},
    key::{self, BoxKey},
    request::{self, StatusItem},
    DONE_READ_LIMIT, READ_LIMIT, REQUEST_LIMIT,
};

/// The pause after a cycle whose `isconnected` was true (someone is watching).
pub const CONNECTED_PERIOD: Duration = Duration::from_secs(2);
/// The pause after a cycle whose `isconnected` was false.
pub const IDLE_PERIOD: Duration = Duration::from_secs(5);
/// About how long the real box is out of contact after any error (cable check, DHCP, DNS).
pub const ERROR_PAUSE: Duration = Duration::from_secs(20);
/// The firmware's pause between the steps of a cycle.
pub const STEP_GAP: Duration = Duration::from_millis(50);

/// The alarm-access cell: the box acts on `_de67f` only if it is non-zero.
const ALARM_ACCESS: u16 = 407;
/// `EtatBP1`: bit 0 = alarm armed.
const ETAT_BP1: u16 = 920;

/// How a simulated box is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The server to talk to. The sim connects to this address and nowhere else.
    pub server: SocketAddr,
    /// The box's 32-digit key; `None` sends no `Authorization` header at all. Only its digits
    /// are taken: the sim derives the key cells, the matricule and the client id itself.
    pub key: Option<Key>,
    /// The `"version"` the box puts in `mystatus` (`V37` for this firmware).
    pub version: String,
    /// Connect, reply and overflow-watch timeouts.
    pub timing: Timing,
    /// The pause between the steps of a cycle ([`STEP_GAP`], 50 ms, on the real box).
    pub step_gap: Duration,
}

impl SimConfig {
    /// A box without a key, reporting `V37`, with the firmware's timeouts and step gap.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            key: None,
            version: "V37".into(),
            timing: Timing::default(),
            step_gap: STEP_GAP,
        }
    }
}

/// A request of the cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /api/serverinfos`.
    ServerInfos,
    /// `POST /api/mystatus`.
    MyStatus,
    /// `GET /api/myactions`.
    MyActions,
    /// `POST /api/done/<guid>`.
    Done,
}

impl Endpoint {
    /// The short name: `serverinfos`, `mystatus`, `myactions`, `done`.
    pub const fn name(self) -> &'static str {
        match self {
            Endpoint::ServerInfos => "serverinfos",
            Endpoint::MyStatus => "mystatus",
            Endpoint::MyActions => "myactions",
            Endpoint::Done => "done",
        }
    }

    /// The most bytes the firmware reads of this endpoint's reply.
    pub const fn read_limit(self) -> usize {
        match self {
            Endpoint::Done => DONE_READ_LIMIT,
            _ => READ_LIMIT,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One reply the box read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyStat {
    /// Which request it answered.
    pub endpoint: Endpoint,
    /// How many bytes the one read returned (what the firmware sees).
    pub bytes: usize,
    /// From the start of the connect to the end of that read.
    pub elapsed: Duration,
}

/// One action the box executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutedAction {
    /// Its guid.
    pub guid: String,
    /// Its params, as received.
    pub params: Vec<Param>,
    /// The non-zero 590 value it carried (1 = server scenario, 2–8 = stored slot).
    pub scenario: Option<u8>,
    /// Whether its `done` was accepted (`201 Created`).
    pub acked: bool,
}

/// What the box did with a `_de67f` alarm order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmOutcome {
    /// The order as received.
    pub order: AlarmOrder,
    /// The decrypted text, when the box has a key and it decrypts.
    pub plaintext: Option<String>,
    /// Whether the box acted on it (cell 407 non-zero).
    pub allowed: bool,
    /// Whether its `done` was accepted.
    pub acked: bool,
}

/// What one cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// `isconnected` from this cycle's `serverinfos` (the previous value until it is read).
    pub connected: bool,
    /// The indices `serverinfos` asked for.
    pub infos: Vec<u16>,
    /// What the box reported in `mystatus` (index 0 when `infos` was empty).
    pub reported: Vec<StatusItem>,
    /// The `_de67f` alarm order, if there was one.
    pub alarm: Option<AlarmOutcome>,
    /// The actions executed, in order.
    pub actions: Vec<ExecutedAction>,
    /// Every reply read, in order.
    pub replies: Vec<ReplyStat>,
    /// Human lines for everything that changed: cells, ignored writes, scenarios, devices
    /// (`light petite_chambre_3 (Petite chambre 3): off -> on`), the alarm, the key.
    pub changes: Vec<String>,
    /// The devices that changed state, in order.
    pub device_changes: Vec<DeviceChange>,
}

/// One simulated box: its identity, its exchange table, its house, and the firmware cycle.
///
/// Its `Debug` shows the client id, never the key or the matricule.
pub struct BoxSim {
    /// How it was set up (the key may change if the server writes the key cells).
    config: SimConfig,
    /// The current key, as the sim reads it (`config.key` follows it).
    key: Option<BoxKey>,
    /// The `Authorization` value derived from the current key.
    matricule: Option<String>,
    /// The exchange table the box reports from.
    table: Table,
    /// The lamps and shutters.
    house: House,
    /// The last `isconnected` read.
    connected: bool,
    /// The report of the last (or current) cycle.
    last: CycleReport,
}

impl std::fmt::Debug for BoxSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxSim")
            .field("server", &self.config.server)
            .field("client_id", &self.client_id())
            .field("connected", &self.connected)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl BoxSim {
    /// A box with a fresh [`Table`] (its key cells holding the configured key) and a [`House`]
    /// with everything off and closed. Nothing is sent until [`BoxSim::cycle`].
    ///
    /// # Panics
    /// If the configured [`Key`] does not hold 32 ASCII digits (core's `Key::parse` guarantees
    /// it; the sim checks rather than trusts it).
    pub fn new(config: SimConfig) -> Self {
        let key = config.key.as_ref().map(|key| {
            BoxKey::of(key).unwrap_or_else(|| panic!("the configured key is not 32 ASCII digits"))
        });
        let mut table = Table::new();
        if let Some(key) = &key {
            for (cell, value) in key::CELLS.zip(key.to_cells()) {
                if let Ok(index) = Index::new(cell) {
                    table.set(index, Value(value));
                }
            }
        }
        Self {
            matricule: key.as_ref().map(BoxKey::matricule),
            key,
            config,
            table,
            house: House::new(),
            connected: false,
            last: CycleReport::default(),
        }
    }

    /// The configuration (with the current key).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Points the box at another server from its next request on (as when DNS answers with
    /// another gateway), keeping its table and house.
    pub fn set_server(&mut self, server: SocketAddr) {
        self.config.server = server;
    }

    /// The client id the server sees for this box (`None` without a key).
    pub fn client_id(&self) -> Option<ClientId> {
        self.key.as_ref().map(BoxKey::client_id)
    }

    /// The lamps and shutters.
    pub fn house(&self) -> &House {
        &self.house
    }

    /// The exchange table the box reports from.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Sets a cell as the box itself would (screen, sensors): e.g. cell 407 = 1 to allow remote
    /// alarm orders, or 349 to change a heating mode the next `mystatus` reports.
    pub fn set_cell(&mut self, index: Index, value: Value) {
        self.table.set(index, value);
    }

    /// The last `isconnected` read (false before the first cycle).
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// The report of the last cycle, complete or cut short by an error.
    pub fn last_report(&self) -> &CycleReport {
        &self.last
    }

    /// How long the real box would wait before its next cycle after `outcome`: 2 s if
    /// `isconnected` was true, 5 s if false, about 20 s after an error.
    pub fn pause_after(outcome: &Result<CycleReport, CycleError>) -> Duration {
        match outcome {
            Ok(report) if report.connected => CONNECTED_PERIOD,
            Ok(_) => IDLE_PERIOD,
            Err(_) => ERROR_PAUSE,
        }
    }

    /// Runs one full firmware cycle: `serverinfos` → `mystatus` → `myactions` (+ one `done` per
    /// action and for an accepted alarm order), stopping at the first failing step as the
    /// firmware does.
    ///
    /// # Errors
    /// The first [`CycleError`]; what happened before it is in [`BoxSim::last_report`].
    pub async fn cycle(&mut self) -> Result<CycleReport, CycleError> {
        self.last = CycleReport {
            connected: self.connected,
            ..CycleReport::default()
        };
        self.run_cycle().await?;
        Ok(self.last.clone())
    }

    async fn run_cycle(&mut self) -> Result<(), CycleError> {
        // 1. serverinfos.
        let request = request::serverinfos(self.matricule.as_deref());
        let reply = self.send(Endpoint::ServerInfos, &request).await?;
        let infos = judge::serverinfos(&reply)
            .map_err(|r| CycleError::rejected(Endpoint::ServerInfos, r))?;
        self.connected = infos.connected;
        self.last.connected = infos.connected;
        self.last.infos.clone_from(&infos.infos);
        self.gap().await;

        // 2. mystatus: the indices just asked for, or index 0 when none.
        let indices: &[u16] = if infos.infos.is_empty() {
            &[0]
        } else {
            &infos.infos
        };
        let items: Vec<StatusItem> = indices
            .iter()
            .map(|&index| StatusItem {
                index,
                value: self.table.reported(index),
            })
            .collect();
        let body = request::status_body(&self.config.version, &items);
        let request = request::mystatus(self.matricule.as_deref(), &body);
        if request.len() >= REQUEST_LIMIT {
            return Err(CycleError::RequestTooLong {
                endpoint: Endpoint::MyStatus,
                bytes: request.len(),
            });
        }
        self.last.reported = items;
        let reply = self.send(Endpoint::MyStatus, &request).await?;
        judge::status(&reply, CREATED_201)
            .map_err(|r| CycleError::rejected(Endpoint::MyStatus, r))?;
        self.gap().await;

        // 3. myactions: checked whole, then the alarm order, then each action and its done.
        let request = request::myactions(self.matricule.as_deref());
        let reply = self.send(Endpoint::MyActions, &request).await?;
        let orders =
            judge::myactions(&reply).map_err(|r| CycleError::rejected(Endpoint::MyActions, r))?;
        if let Some(order) = orders.alarm {
            self.alarm(order).await?;
        }
        for action in orders.actions {
            let effects = house::execute(&mut self.table, &mut self.house, &action.params);
            self.last.changes.extend(effects.lines);
            self.last.device_changes.extend(effects.devices);
            if effects.key_written {
                self.adopt_key_cells();
            }
            self.last.actions.push(ExecutedAction {
                guid: action.guid.clone(),
                params: action.params,
                scenario: effects.scenario,
                acked: false,
            });
            self.done(&action.guid).await?;
            if let Some(executed) = self.last.actions.last_mut() {
                executed.acked = true;
            }
        }

        // 4. OTA, which the sim refuses.
        match infos.ota {
            Some(version) => Err(CycleError::OtaRequested { version }),
            None => Ok(()),
        }
    }

    /// Handles a `_de67f` order (module doc).
    async fn alarm(&mut self, order: AlarmOrder) -> Result<(), CycleError> {
        let allowed = self.cell(ALARM_ACCESS) != 0;
        let decrypted = self.key.as_ref().map(|key| alarm::decrypt(key, &order.obl));
        let plaintext = decrypted.as_ref().and_then(|d| d.as_ref().ok()).cloned();
        let reading = match &decrypted {
            Some(Ok(text)) => format!("{text:?}"),
            Some(Err(why)) => format!("unreadable ({why})"),
            None => "not decrypted (the box has no key)".to_string(),
        };
        let guid = order.guid.clone();
        self.last.alarm = Some(AlarmOutcome {
            order,
            plaintext: plaintext.clone(),
            allowed,
            acked: false,
        });
        if !allowed {
            self.last.changes.push(format!(
                "alarm order {guid}: {reading}; ignored and not acked: cell 407 (Alarme_AccesADistance) is 0"
            ));
            return Ok(());
        }
        self.last
            .changes
            .push(format!("alarm order {guid}: {reading}"));
        if let Some(word) = plaintext.as_deref().and_then(alarm::word) {
            let old = self.cell(ETAT_BP1);
            let new = match word {
                AlarmWord::On => old | 1,
                AlarmWord::Off => old & !1,
            };
            if let Ok(index) = Index::new(ETAT_BP1) {
                self.table.set(index, Value(new));
            }
            let what = if word == AlarmWord::On {
                "armed"
            } else {
                "disarmed"
            };
            self.last.changes.push(format!(
                "alarm {what} by server order: cell 920 (EtatBP1): {old} -> {new}"
            ));
        }
        self.done(&guid).await?;
        if let Some(outcome) = self.last.alarm.as_mut() {
            outcome.acked = true;
        }
        Ok(())
    }

    /// `POST /api/done/<guid>`, which must be answered `201 Created`.
    async fn done(&mut self, guid: &str) -> Result<(), CycleError> {
        let request = request::done(self.matricule.as_deref(), guid);
        let reply = self.send(Endpoint::Done, &request).await?;
        judge::status(&reply, CREATED_201).map_err(|r| CycleError::rejected(Endpoint::Done, r))
    }

    /// One exchange; records its size, and fails if the reply did not fit in the one read.
    async fn send(&mut self, endpoint: Endpoint, request: &[u8]) -> Result<Vec<u8>, CycleError> {
        let limit = endpoint.read_limit();
        let reply = exchange(self.config.server, request, limit, &self.config.timing)
            .await
            .map_err(|e| CycleError::from_exchange(endpoint, e))?;
        self.last.replies.push(ReplyStat {
            endpoint,
            bytes: reply.bytes.len(),
            elapsed: reply.elapsed,
        });
        if reply.too_long() {
            return Err(CycleError::TooLong {
                endpoint,
                bytes: reply.total(),
                limit,
            });
        }
        if reply.split() {
            return Err(CycleError::Split {
                endpoint,
                read: reply.bytes.len(),
                later: reply.later,
            });
        }
        Ok(reply.bytes)
    }

    /// After a write to the key cells: use the key they now hold, if any and if valid.
    fn adopt_key_cells(&mut self) {
        if self.key.is_none() {
            return;
        }
        let mut cells = [0u8; 16];
        for (slot, cell) in cells.iter_mut().zip(key::CELLS) {
            *slot = self.cell(cell);
        }
        match BoxKey::from_cells(cells) {
            Ok(key) if Some(&key) != self.key.as_ref() => {
                self.last.changes.push(format!(
                    "box key changed: from the next request the box authenticates as client {}",
                    key.client_id()
                ));
                self.matricule = Some(key.matricule());
                match key.to_core() {
                    Some(core) => self.config.key = Some(core),
                    None => self.last.changes.push(
                        "core's Key refuses the new 32 digits: config().key keeps the old key"
                            .to_string(),
                    ),
                }
                self.key = Some(key);
            }
            Ok(_) => {}
            Err(error) => self
                .last
                .changes
                .push(format!("box key cells now invalid ({error}); key kept")),
        }
    }

    /// A cell by raw index (0 outside the table).
    fn cell(&self, raw: u16) -> u8 {
        self.table
            .cells()
            .get(usize::from(raw))
            .copied()
            .unwrap_or(0)
    }

    async fn gap(&self) {
        if !self.config.step_gap.is_zero() {
            tokio::time::sleep(self.config.step_gap).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key_and_the_matricule() {
        let key = Key::parse("12345678901234567890123456789012").expect("key");
        let matricule = BoxKey::of(&key).expect("32 digits").matricule();
        let sim = BoxSim::new(SimConfig {
            key: Some(key),
            ..SimConfig::new(([127, 0, 0, 1], 8080).into())
        });
        let shown = format!("{sim:?} {:?}", sim.config());
        assert!(shown.contains("767179c7a2bff196"), "{shown}");
        assert!(!shown.contains(&matricule), "{shown}");
        assert!(!shown.contains("1234567890"), "{shown}");
    }

    #[test]
    fn endpoints_and_cadence() {
        assert_eq!(Endpoint::Done.read_limit(), 1023);
        assert_eq!(Endpoint::MyActions.read_limit(), 1499);
        assert_eq!(Endpoint::ServerInfos.to_string(), "serverinfos");
        let idle = CycleReport::default();
        assert_eq!(BoxSim::pause_after(&Ok(idle)), IDLE_PERIOD);
        let error = CycleError::NoReply {
            endpoint: Endpoint::MyStatus,
        };
        assert_eq!(error.kind(), "no-reply");
        assert!(error.is_transport());
        assert_eq!(BoxSim::pause_after(&Err(error)), ERROR_PAUSE);
    }
}
