//! The directory an agent searches with `find_device_index(device_name, category?, action?)`:
//! every light, dimmer, shutter and the awning of the core catalog, the stored scenarios, the
//! heating zones, the water heater, watering and the alarm, each with the exact orders to give
//! through `send_order`.
//!
//! # Matching
//! The query and every name are folded the same way ([`fold`]): lower case, French accents
//! stripped (`œ` → `oe`, `æ` → `ae`), anything that is not a letter or a digit becomes a space,
//! digits are split from letters (`zsb1` → `zsb 1`). Then English and French synonyms are
//! rewritten to the catalog's French words (`bedroom` → `chambre`, `living room` → `salon`,
//! `water heater` → `cumulus`, …, see [`SYNONYMS`]), and articles and prepositions (`le`, `de`,
//! `the`, … see [`STOPWORDS`]) and order verbs (`allume`, `close`, …) are dropped.
//!
//! Each entry is searched under its French label, its id (`petite_chambre_3` →
//! `petite chambre 3`) and, for scenarios and modes, hand-written aliases (`bedtime`); its kind
//! words (`lampe`, `volet`, `store`, `scenario`, …) also count as its words.
//!
//! # Ranking (deterministic)
//! From best to worst: the query *is* the label; the query is another of the entry's names;
//! every query word is a whole word of the entry; every query word is a whole word or a prefix
//! of one (3 letters at least); some query words match. Within a tier, more whole words beat
//! more prefixes, fewer leftover words of the name beat more, and the label beats an id or
//! alias as close. Numbers only ever match the same number (`3` ≠ `13`, `03` = `3`) and never
//! match alone when the query has words (`salon 3` is no match for `chambre 3`); an entry whose
//! numbers contradict the query's (`chambre 1` for `chambre 3`) falls below every entry that
//! does not. Ties keep catalog order: devices, scenarios, heating zones, water heater,
//! watering, alarm. Entries scoring 0 are dropped; at most [`MAX_MATCHES`] are returned.

use std::sync::OnceLock;

use essensys_core::{
    catalog::{devices, Device, DeviceKind, SCENARIO},
    house::{Select, ALARM_PROGRESS, ALARM_REMOTE_ACCESS, BOX_STATE, SCENARIOS, SELECTS},
    Index,
};
use serde::Serialize;
use thiserror::Error;

/// The most matches [`find`] returns.
pub const MAX_MATCHES: usize = 10;

/// Only the first this many words of a query are looked at (a bound on the work per call).
pub const MAX_QUERY_WORDS: usize = 32;

/// What kind of thing an entry is, as the `category` argument names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Lights and dimmers.
    Light,
    /// Shutters and the terrace awning.
    Shutter,
    /// The stored scenarios (slots 2–8).
    Scenario,
    /// The alarm.
    Security,
    /// The four heating zones.
    Heating,
    /// The water heater (cumulus).
    WaterHeater,
    /// Watering.
    Irrigation,
}

/// Every category, in the order error messages list them.
const CATEGORIES: [Category; 7] = [
    Category::Light,
    Category::Shutter,
    Category::Scenario,
    Category::Security,
    Category::Heating,
    Category::WaterHeater,
    Category::Irrigation,
];

/// Folded words accepted for each category besides its [`Category::name`].
const CATEGORY_ALIASES: &[(Category, &[&str])] = &[
    (
        Category::Light,
        &[
            "lights",
            "lumiere",
            "lumieres",
            "lampe",
            "lampes",
            "lamp",
            "lamps",
            "eclairage",
            "dimmer",
            "dimmers",
            "variateur",
            "variateurs",
        ],
    ),
    (
        Category::Shutter,
        &[
            "shutters",
            "volet",
            "volets",
            "volet roulant",
            "volets roulants",
            "blind",
            "blinds",
            "store",
            "stores",
            "awning",
            "store banne",
        ],
    ),
    (
        Category::Scenario,
        &["scenarios", "scene", "scenes", "ambiance", "ambiances"],
    ),
    (
        Category::Security,
        &["securite", "alarm", "alarme", "alarms", "alarmes"],
    ),
    (Category::Heating, &["chauffage", "heater", "radiateur"]),
    (
        Category::WaterHeater,
        &[
            "cumulus",
            "chauffe eau",
            "eau chaude",
            "hot water",
            "boiler",
            "ballon",
        ],
    ),
    (
        Category::Irrigation,
        &["arrosage", "watering", "sprinkler", "sprinklers"],
    ),
];

impl Category {
    /// The category named by `text` (its [`Category::name`], or a French or English alias such
    /// as `lumière`, `volet`, `scénario`, `alarme`, `chauffage`, `cumulus`, `arrosage`),
    /// ignoring case, accents and `_`/`-`.
    pub fn parse(text: &str) -> Option<Self> {
        let folded = fold(text);
        CATEGORIES.into_iter().find(|category| {
            fold(category.name()) == folded
                || CATEGORY_ALIASES
                    .iter()
                    .filter(|(c, _)| c == category)
                    .any(|(_, aliases)| aliases.iter().any(|alias| *alias == folded))
        })
    }

    /// Its name: `light`, `shutter`, `scenario`, `security`, `heating`, `water_heater`,
    /// `irrigation`.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Light => "light",
            Category::Shutter => "shutter",
            Category::Scenario => "scenario",
            Category::Security => "security",
            Category::Heating => "heating",
            Category::WaterHeater => "water_heater",
            Category::Irrigation => "irrigation",
        }
    }
}

/// Which of a device's two orders the `action` argument asks for.
///
/// It filters light, dimmer, shutter and awning orders only: scenarios and modes (heating,
/// water heater, watering) keep all their orders whatever the action, and the alarm has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Switch on (lights, dimmers) or open (shutters; deploys the awning).
    OnOrOpen,
    /// Switch off (lights, dimmers) or close (shutters; raises the awning).
    OffOrClose,
}

/// Folded verbs and words that ask for [`Action::OnOrOpen`].
const ON_WORDS: &[&str] = &[
    "allumer",
    "allume",
    "allumes",
    "allumez",
    "allumee",
    "allumons",
    "on",
    "turn on",
    "switch on",
    "ouvrir",
    "ouvre",
    "ouvres",
    "ouvrez",
    "ouvert",
    "ouverte",
    "ouvrons",
    "open",
    "deployer",
    "deploie",
    "deploy",
    "activer",
    "active",
    "activate",
    "enable",
    "marche",
];

/// Folded verbs and words that ask for [`Action::OffOrClose`].
const OFF_WORDS: &[&str] = &[
    "eteindre",
    "eteins",
    "eteint",
    "eteinte",
    "eteignez",
    "eteignons",
    "off",
    "turn off",
    "switch off",
    "fermer",
    "ferme",
    "fermes",
    "fermez",
    "fermee",
    "fermons",
    "close",
    "shut",
    "replier",
    "desactiver",
    "desactive",
    "deactivate",
    "disable",
    "arret",
    "arreter",
    "arrete",
    "stop",
];

impl Action {
    /// The action named by `text`: `allumer`, `ouvrir`, `on`, `open` (and conjugated forms
    /// such as `allume`, `ouvre`) give [`Action::OnOrOpen`]; `eteindre`/`éteindre`, `fermer`,
    /// `off`, `close` (and `éteins`, `ferme`, …) give [`Action::OffOrClose`]. Case and accents
    /// are ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let folded = fold(text);
        if ON_WORDS.contains(&folded.as_str()) {
            Some(Action::OnOrOpen)
        } else if OFF_WORDS.contains(&folded.as_str()) {
            Some(Action::OffOrClose)
        } else {
            None
        }
    }
}

/// One entry of the directory that matched a query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Its French label (`Petite chambre 3`).
    pub name: &'static str,
    /// Its [`Category::name`].
    pub category: &'static str,
    /// `light`, `dimmer`, `shutter`, `awning`, `scenario`, `heating_zone`, `water_heater`,
    /// `watering` or `alarm`.
    pub kind: &'static str,
    /// The catalog id (`petite_chambre_3`), the select key (`heating_zn`), `scenario_<n>` or
    /// `alarm`.
    pub id: String,
    /// How well it matched: higher is better.
    pub score: u32,
    /// The cells this entry is about.
    pub cells: Vec<CellRef>,
    /// The orders to give through `send_order`; empty for the alarm.
    pub orders: Vec<Suggested>,
    /// What else to know (the awning's directions, the alarm's own order, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// A cell an entry is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CellRef {
    /// The cell's index.
    pub index: u16,
    /// The firmware's name of the cell (`Chauf_zn_Mode`).
    pub name: &'static str,
    /// What the cell is for this entry: `on mask`, `off mask`, `open mask`, `close mask`,
    /// `launch`, `mode`, `box state`, …
    pub role: &'static str,
}

/// A ready order: the `params` to give `send_order` as they are.
///
/// A light or shutter order is a single mask cell with the device's bit (`{k:613, v:"64"}`);
/// the gateway expands it into the full Mode B scene (`590 = 1` plus the whole block 605–622)
/// before it reaches the box, so the other devices are left as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggested {
    /// What it does, French first: `allumer (on)`, `éteindre (off)`, `ouvrir (open)`,
    /// `fermer (close)`, `lancer (launch)`, `mode Confort`.
    pub action: String,
    /// The cells to write.
    pub params: Vec<Cell>,
}

/// One cell write, as `send_order` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The index.
    pub k: u16,
    /// The value, in decimal.
    pub v: String,
}

/// Why [`find`] could not search.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FindError {
    /// The name holds no letter or digit.
    #[error(
        "device_name is empty: give a room, device, scenario or mode name, e.g. \"chambre 3\", \
         \"volet salon\", \"je vais me coucher\", \"cumulus\", \"alarme\""
    )]
    EmptyName,
    /// The category is none of the accepted ones.
    #[error(
        "unknown category {0:?}: use light, shutter, scenario, security, heating, water_heater \
         or irrigation (or leave it out)"
    )]
    UnknownCategory(String),
    /// The action is none of the accepted ones.
    #[error(
        "unknown action {0:?}: use allumer (on), eteindre (off), ouvrir (open) or fermer \
         (close) (or leave it out)"
    )]
    UnknownAction(String),
}

/// English and French words and phrases (folded) rewritten to the catalog's French words, in
/// queries and names alike. The longest phrase starting at a word wins.
pub const SYNONYMS: &[(&str, &str)] = &[
    // Rooms.
    ("bedroom", "chambre"),
    ("bedrooms", "chambre"),
    ("bed room", "chambre"),
    ("master bedroom", "grande chambre"),
    ("main bedroom", "grande chambre"),
    ("big bedroom", "grande chambre"),
    ("large bedroom", "grande chambre"),
    ("small bedroom", "petite chambre"),
    ("little bedroom", "petite chambre"),
    ("kids room", "petite chambre"),
    ("child room", "petite chambre"),
    ("chambre d enfant", "petite chambre"),
    ("living room", "salon"),
    ("livingroom", "salon"),
    ("lounge", "salon"),
    ("sitting room", "salon"),
    ("sejour", "salon"),
    ("dining room", "salle a manger"),
    ("dining", "salle a manger"),
    ("sam", "salle a manger"),
    ("kitchen", "cuisine"),
    ("bathroom", "salle de bain"),
    ("bath room", "salle de bain"),
    ("bathrooms", "salle de bain"),
    ("salle de bains", "salle de bain"),
    ("salle d eau", "salle de bain"),
    ("shower room", "salle de bain"),
    ("sdb", "salle de bain"),
    ("toilet", "wc"),
    ("toilets", "wc"),
    ("toilettes", "wc"),
    ("restroom", "wc"),
    ("entrance", "entree"),
    ("entry", "entree"),
    ("hall", "entree"),
    ("foyer", "entree"),
    ("office", "bureau"),
    ("study", "bureau"),
    ("desk", "bureau"),
    ("closet", "dressing"),
    ("walk in closet", "dressing"),
    ("wardrobe", "dressing"),
    ("couloir", "degagement"),
    ("corridor", "degagement"),
    ("hallway", "degagement"),
    ("passage", "degagement"),
    ("stairs", "escalier"),
    ("staircase", "escalier"),
    ("stairway", "escalier"),
    ("escaliers", "escalier"),
    ("terrace", "terrasse"),
    ("patio", "terrasse"),
    ("deck", "terrasse"),
    ("laundry", "service"),
    ("utility room", "service"),
    ("buanderie", "service"),
    ("cellier", "service"),
    ("annex", "annexe"),
    // Devices.
    ("light", "lampe"),
    ("lights", "lampe"),
    ("lamp", "lampe"),
    ("lamps", "lampe"),
    ("lumiere", "lampe"),
    ("lumieres", "lampe"),
    ("eclairage", "lampe"),
    ("plafonnier", "lampe"),
    ("ceiling light", "lampe"),
    ("dimmer", "variateur"),
    ("dimmable", "variateur"),
    ("dimmable light", "variateur"),
    ("var", "variateur"),
    ("shutter", "volet"),
    ("shutters", "volet"),
    ("roller shutter", "volet"),
    ("roller shutters", "volet"),
    ("blind", "volet"),
    ("blinds", "volet"),
    ("volet roulant", "volet"),
    ("volets roulants", "volet"),
    ("awning", "store"),
    ("sunshade", "store"),
    ("banne", "store"),
    ("store banne", "store"),
    // Heating, hot water, watering, alarm.
    ("heating", "chauffage"),
    ("heater", "chauffage"),
    ("heaters", "chauffage"),
    ("radiateur", "chauffage"),
    ("radiateurs", "chauffage"),
    ("radiator", "chauffage"),
    ("radiators", "chauffage"),
    ("day zone", "zone jour"),
    ("night zone", "zone nuit"),
    ("day", "jour"),
    ("night", "nuit"),
    ("water heater", "cumulus"),
    ("chauffe eau", "cumulus"),
    ("eau chaude", "cumulus"),
    ("hot water", "cumulus"),
    ("boiler", "cumulus"),
    ("ballon", "cumulus"),
    ("ballon d eau chaude", "cumulus"),
    ("watering", "arrosage"),
    ("irrigation", "arrosage"),
    ("sprinkler", "arrosage"),
    ("sprinklers", "arrosage"),
    ("garden watering", "arrosage"),
    ("alarm", "alarme"),
    ("security", "alarme"),
    ("securite", "alarme"),
    ("burglar alarm", "alarme"),
    ("siren", "alarme"),
    ("sirene", "alarme"),
    // Scenarios.
    ("scene", "scenario"),
    ("scenes", "scenario"),
    ("scenarios", "scenario"),
    ("scenarii", "scenario"),
    // Numbers.
    ("one", "1"),
    ("first", "1"),
    ("premier", "1"),
    ("premiere", "1"),
    ("two", "2"),
    ("second", "2"),
    ("deux", "2"),
    ("deuxieme", "2"),
    ("three", "3"),
    ("third", "3"),
    ("trois", "3"),
    ("troisieme", "3"),
];

/// Folded words that carry no name: articles, prepositions, politeness.
pub const STOPWORDS: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "a", "au", "aux", "the", "an",
    "of", "in", "my", "mon", "ma", "mes", "dans", "et", "and", "to", "please", "stp", "svp",
];

/// Hand-written aliases of the stored scenarios (slot, names), French and English.
const SCENARIO_ALIASES: &[(u8, &[&str])] = &[
    (
        2,
        &[
            "leaving",
            "leave",
            "leaving home",
            "going out",
            "go out",
            "away",
            "sortie",
            "sortir",
            "absent",
        ],
    ),
    (
        3,
        &[
            "holiday",
            "holidays",
            "vacation",
            "vacations",
            "vacances",
            "going on holiday",
            "going on vacation",
            "je pars",
            "depart en vacances",
        ],
    ),
    (
        4,
        &[
            "coming home",
            "come home",
            "back home",
            "home",
            "arriving",
            "arrival",
            "retour",
            "rentrer",
            "je suis rentre",
            "je suis la",
            "arrivee",
        ],
    ),
    (
        5,
        &[
            "bedtime",
            "bed time",
            "going to bed",
            "go to bed",
            "bed",
            "sleep",
            "good night",
            "bonne nuit",
            "coucher",
            "coucher du soir",
            "dodo",
        ],
    ),
    (
        6,
        &[
            "waking up",
            "wake up",
            "wakeup",
            "morning",
            "good morning",
            "reveil",
            "lever",
            "le matin",
            "je me reveille",
        ],
    ),
    (7, &["custom 1", "personal 1", "perso 1"]),
    (8, &["custom 2", "personal 2", "perso 2"]),
];

/// Hand-written aliases of the selects (key, names).
const SELECT_ALIASES: &[(&str, &[&str])] = &[
    ("heating_zj", &["zj", "chauffage jour", "chauffage salon"]),
    ("heating_zn", &["zn", "chauffage nuit", "chauffage chambre"]),
    ("heating_zsb1", &["zsb1", "chauffage salle de bain"]),
    ("heating_zsb2", &["zsb2"]),
    (
        "water_heater",
        &["chauffe eau", "eau chaude", "hot water", "water heater"],
    ),
    (
        "watering",
        &["arrosage jardin", "garden watering", "irrigation"],
    ),
];

/// What the alarm match says instead of an order.
const ALARM_NOTE: &str = "the alarm cannot be armed or disarmed by writing a cell: it takes an \
     encrypted order that the gateway builds with the box's key. Use the gateway's alarm order \
     (POST /api/v1/alarm with {\"state\":\"arm\"} or {\"state\":\"disarm\"}, or the Home \
     Assistant alarm panel); the backend must know the box key (--box-key), and the keypad must \
     allow remote orders (407 non-zero). Read 920, 413 and 407 for the alarm's state";

/// What the awning match says.
const AWNING_NOTE: &str = "open deploys the awning, close raises it";

/// What the watering match says.
const WATERING_NOTE: &str = "any value 1-254 written to 363 forces watering for that many \
     minutes; 255 follows the plan, 0 stops";

/// What the scenario matches say.
const SCENARIO_NOTE: &str = "launching a stored scenario runs what was saved in its slot on the \
     box's screen; the box resets 590 to 0 afterwards";

/// One searchable thing, with its names already folded into words.
struct Entry {
    name: &'static str,
    category: Category,
    kind: &'static str,
    id: String,
    /// The label's words first, then the id's and aliases' words.
    names: Vec<Vec<String>>,
    /// Kind words that count as words of every name.
    tags: Vec<String>,
    cells: Vec<CellRef>,
    /// Each order with the action it answers (`None`: kept whatever the action).
    orders: Vec<(Option<Action>, Suggested)>,
    note: Option<&'static str>,
}

/// Folds `text` for matching: lower case, French accents stripped (`œ` → `oe`, `æ` → `ae`),
/// every character that is neither a letter nor a digit turned into a space, digits split from
/// letters, runs of spaces collapsed, no leading or trailing space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Whether the last character written was a digit (`None`: nothing written yet).
    let mut last_digit: Option<bool> = None;
    // A separator was seen since the last character written.
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let mut buffer = [0u8; 4];
        let piece: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ç' => "c",
            'ÿ' => "y",
            'ñ' => "n",
            'œ' => "oe",
            'æ' => "ae",
            'ß' => "ss",
            c if c.is_alphanumeric() => c.encode_utf8(&mut buffer),
            _ => {
                gap = true;
                continue;
            }
        };
        for c in piece.chars() {
            let digit = c.is_ascii_digit();
            if let Some(was) = last_digit {
                if gap || was != digit {
                    out.push(' ');
                }
            }
            out.push(c);
            last_digit = Some(digit);
            gap = false;
        }
    }
    out
}

/// The synonym table as word lists, folded once.
fn synonyms() -> &'static [(Vec<String>, Vec<String>)] {
    static TABLE: OnceLock<Vec<(Vec<String>, Vec<String>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SYNONYMS
            .iter()
            .map(|(from, to)| (split(&fold(from)), split(&fold(to))))
            .collect()
    })
}

fn split(folded: &str) -> Vec<String> {
    folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Folded words of a query that name no entry besides the order verbs: `lance`, `mode`, …
const QUERY_NOISE: &[&str] = &[
    "lancer", "lance", "launch", "run", "start", "demarrer", "demarre", "mettre", "mets", "met",
    "passer", "passe", "set", "regler", "regle", "mode", "please", "peux", "tu", "can", "you",
];

/// Whether a folded word is an order verb (`allume`, `close`, `lance`, …): dropped from queries.
fn is_verb(word: &str) -> bool {
    ON_WORDS.contains(&word) || OFF_WORDS.contains(&word) || QUERY_NOISE.contains(&word)
}

/// The words of `text` to match: folded, synonyms rewritten, stop words (and, for a query, the
/// order verbs) dropped, numbers without leading zeros; at most [`MAX_QUERY_WORDS`].
fn words(text: &str, drop_verbs: bool) -> Vec<String> {
    let raw: Vec<String> = fold(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_WORDS)
        .map(str::to_owned)
        .collect();
    let mut rewritten = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let longest = synonyms()
            .iter()
            .filter(|(from, _)| raw[at..].starts_with(from))
            .max_by_key(|(from, _)| from.len());
        match longest {
            Some((from, to)) if !from.is_empty() => {
                rewritten.extend(to.iter().cloned());
                at += from.len();
            }
            _ => {
                rewritten.push(raw[at].clone());
                at += 1;
            }
        }
    }
    rewritten
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .filter(|w| !(drop_verbs && is_verb(w)))
        .map(|w| {
            if is_number(&w) {
                let trimmed = w.trim_start_matches('0');
                if trimmed.is_empty() {
                    "0".to_owned()
                } else {
                    trimmed.to_owned()
                }
            } else {
                w
            }
        })
        .collect()
}

fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// A word without a plural `s` or `x` (words of more than 3 letters).
fn singular(word: &str) -> &str {
    if word.chars().count() > 3 && !is_number(word) {
        word.strip_suffix('s')
            .or_else(|| word.strip_suffix('x'))
            .unwrap_or(word)
    } else {
        word
    }
}

/// The same word, ignoring a plural ending (numbers: the same number).
fn same_word(query: &str, word: &str) -> bool {
    query == word || singular(query) == singular(word)
}

/// A query word of 3 letters or more that begins a word or that a word of 3 letters or more
/// begins; numbers never.
fn prefix_of(query: &str, word: &str) -> bool {
    if is_number(query) || is_number(word) {
        return false;
    }
    let (q, w) = (query.chars().count(), word.chars().count());
    (q >= 3 && word.starts_with(query)) || (w >= 3 && query.starts_with(word))
}

/// Score of the label being exactly the query.
const LABEL_EXACT: u32 = 4100;
/// Score of another name being exactly the query.
const NAME_EXACT: u32 = 4050;
/// Tier bases: all words whole, all words matched, some words matched.
const TIER_ALL_WHOLE: u32 = 3000;
const TIER_ALL_MATCHED: u32 = 2000;
const TIER_SOME: u32 = 1000;

/// How well `query` matches one name of an entry with these kind words (0: not at all).
fn score_name(query: &[String], name: &[String], tags: &[String], is_label: bool) -> u32 {
    if query.is_empty() {
        return 0;
    }
    if query.len() == name.len() && query.iter().zip(name).all(|(q, w)| same_word(q, w)) {
        return if is_label { LABEL_EXACT } else { NAME_EXACT };
    }
    let pool = || name.iter().chain(tags);
    let (mut whole, mut prefix, mut words_hit) = (0u32, 0u32, 0u32);
    for q in query {
        if pool().any(|w| same_word(q, w)) {
            whole += 1;
        } else if pool().any(|w| prefix_of(q, w)) {
            prefix += 1;
        } else {
            continue;
        }
        if !is_number(q) {
            words_hit += 1;
        }
    }
    // A number alone is no match when the query has words (`salon 3` for `chambre 3`).
    if whole + prefix == 0 || (words_hit == 0 && query.iter().any(|q| !is_number(q))) {
        return 0;
    }
    let count = u32::try_from(query.len()).unwrap_or(u32::MAX);
    let leftover = name
        .iter()
        .filter(|w| !query.iter().any(|q| same_word(q, w)))
        .count();
    // Fewer leftover words is tighter; the label beats ids and aliases of the same length.
    let tightness = 20u32
        .saturating_sub(u32::try_from(leftover.saturating_mul(2)).unwrap_or(20))
        .saturating_sub(if is_label { 0 } else { 3 });
    // At most MAX_QUERY_WORDS words: 30 × 32 + 20 < 1000, so tiers never overlap.
    let fine = (30 * whole + 10 * prefix + tightness).min(999);
    let query_numbers: Vec<&String> = query.iter().filter(|q| is_number(q)).collect();
    let name_numbers: Vec<&String> = name.iter().filter(|w| is_number(w)).collect();
    let contradicts =
        !name_numbers.is_empty() && query_numbers.iter().any(|q| !name_numbers.contains(q));
    let tier = if contradicts {
        0
    } else if whole == count {
        TIER_ALL_WHOLE
    } else if whole + prefix == count {
        TIER_ALL_MATCHED
    } else {
        TIER_SOME
    };
    tier + fine.max(1)
}

impl Entry {
    fn score(&self, query: &[String]) -> u32 {
        self.names
            .iter()
            .enumerate()
            .map(|(n, name)| score_name(query, name, &self.tags, n == 0))
            .max()
            .unwrap_or(0)
    }

    fn to_match(&self, score: u32, action: Option<Action>) -> Match {
        Match {
            name: self.name,
            category: self.category.name(),
            kind: self.kind,
            id: self.id.clone(),
            score,
            cells: self.cells.clone(),
            orders: self
                .orders
                .iter()
                .filter(|(answers, _)| match (action, answers) {
                    (Some(wanted), Some(answers)) => wanted == *answers,
                    _ => true,
                })
                .map(|(_, order)| order.clone())
                .collect(),
            note: self.note,
        }
    }
}

fn cell_ref(index: Index, role: &'static str) -> CellRef {
    CellRef {
        index: index.get(),
        name: index.info().name,
        role,
    }
}

fn order(action: impl Into<String>, index: Index, value: impl ToString) -> Suggested {
    Suggested {
        action: action.into(),
        params: vec![Cell {
            k: index.get(),
            v: value.to_string(),
        }],
    }
}

fn device_entry(device: &Device) -> Entry {
    let (category, tags, on_role, off_role, on, off): (_, &[&str], _, _, _, _) = match device.kind {
        DeviceKind::Light => (
            Category::Light,
            &["lampe"],
            "on mask",
            "off mask",
            "allumer (on)",
            "éteindre (off)",
        ),
        DeviceKind::Dimmer => (
            Category::Light,
            &["lampe", "variateur"],
            "on mask",
            "off mask",
            "allumer (on)",
            "éteindre (off)",
        ),
        DeviceKind::Shutter => (
            Category::Shutter,
            &["volet"],
            "open mask",
            "close mask",
            "ouvrir (open)",
            "fermer (close)",
        ),
        DeviceKind::Awning => (
            Category::Shutter,
            &["store", "volet"],
            "open (deploy) mask",
            "close (raise) mask",
            "ouvrir (open)",
            "fermer (close)",
        ),
    };
    Entry {
        name: device.label,
        category,
        kind: device.kind.name(),
        id: device.id.to_owned(),
        names: vec![words(device.label, false), words(device.id, false)],
        tags: tags.iter().flat_map(|t| words(t, false)).collect(),
        cells: vec![
            cell_ref(device.on_or_open, on_role),
            cell_ref(device.off_or_close, off_role),
        ],
        orders: vec![
            (
                Some(Action::OnOrOpen),
                order(on, device.on_or_open, device.bit),
            ),
            (
                Some(Action::OffOrClose),
                order(off, device.off_or_close, device.bit),
            ),
        ],
        note: (device.kind == DeviceKind::Awning).then_some(AWNING_NOTE),
    }
}

fn scenario_entry(slot: u8, name: &'static str) -> Entry {
    let id = format!("scenario_{slot}");
    let mut names = vec![words(name, false), words(&id, false)];
    names.extend(
        SCENARIO_ALIASES
            .iter()
            .filter(|(s, _)| *s == slot)
            .flat_map(|(_, aliases)| aliases.iter())
            .map(|alias| words(alias, false)),
    );
    Entry {
        name,
        category: Category::Scenario,
        kind: "scenario",
        id,
        names,
        tags: words("scenario", false),
        cells: vec![cell_ref(SCENARIO, "launch")],
        orders: vec![(None, order("lancer (launch)", SCENARIO, slot))],
        note: Some(SCENARIO_NOTE),
    }
}

fn select_entry(select: &Select) -> Entry {
    let (category, kind, tag, note) = match select.key {
        "water_heater" => (Category::WaterHeater, "water_heater", "cumulus", None),
        "watering" => (
            Category::Irrigation,
            "watering",
            "arrosage",
            Some(WATERING_NOTE),
        ),
        _ => (Category::Heating, "heating_zone", "chauffage", None),
    };
    let mut names = vec![words(select.label, false), words(select.key, false)];
    names.extend(
        SELECT_ALIASES
            .iter()
            .filter(|(key, _)| *key == select.key)
            .flat_map(|(_, aliases)| aliases.iter())
            .map(|alias| words(alias, false)),
    );
    Entry {
        name: select.label,
        category,
        kind,
        id: select.key.to_owned(),
        names,
        tags: words(tag, false),
        cells: vec![cell_ref(select.index, "mode")],
        orders: select
            .options
            .iter()
            .map(|(label, value)| (None, order(format!("mode {label}"), select.index, value)))
            .collect(),
        note,
    }
}

fn alarm_entry() -> Entry {
    Entry {
        name: "Alarme",
        category: Category::Security,
        kind: "alarm",
        id: "alarm".to_owned(),
        names: vec![
            words("Alarme", false),
            words("alarme intrusion", false),
            words("alarm system", false),
        ],
        tags: words("alarme", false),
        cells: vec![
            cell_ref(BOX_STATE, "box state (b0 armed, b1 triggered)"),
            cell_ref(
                ALARM_PROGRESS,
                "alarm progress (3 exit delay, 4 armed, 6 intrusion)",
            ),
            cell_ref(ALARM_REMOTE_ACCESS, "remote orders allowed (0: refused)"),
        ],
        orders: Vec::new(),
        note: Some(ALARM_NOTE),
    }
}

/// Every entry, in catalog order: devices, scenarios, selects, the alarm.
fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut all: Vec<Entry> = devices().iter().map(device_entry).collect();
        all.extend(
            SCENARIOS
                .iter()
                .map(|(slot, name)| scenario_entry(*slot, name)),
        );
        all.extend(SELECTS.iter().map(select_entry));
        all.push(alarm_entry());
        all
    })
}

/// The entries that match `device_name`, best first (at most [`MAX_MATCHES`]).
///
/// `category` (a [`Category::parse`] text) keeps only that category; `action` (an
/// [`Action::parse`] text) keeps only the on/open or off/close order of lights, dimmers,
/// shutters and the awning — scenarios and modes keep all their orders. An empty or blank
/// `category` or `action` is the same as none. A name that matches nothing gives an empty list.
pub fn find(
    device_name: &str,
    category: Option<&str>,
    action: Option<&str>,
) -> Result<Vec<Match>, FindError> {
    let category = match category.filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(text) => {
            Some(Category::parse(text).ok_or_else(|| FindError::UnknownCategory(text.to_owned()))?)
        }
    };
    let action = match action.filter(|a| !a.trim().is_empty()) {
        None => None,
        Some(text) => {
            Some(Action::parse(text).ok_or_else(|| FindError::UnknownAction(text.to_owned()))?)
        }
    };
    if fold(device_name).is_empty() {
        return Err(FindError::EmptyName);
    }
    let query = words(device_name, true);
    let mut scored: Vec<(u32, &Entry)> = entries()
        .iter()
        .filter(|entry| category.is_none_or(|c| entry.category == c))
        .map(|entry| (entry.score(&query), entry))
        .filter(|(score, _)| *score > 0)
        .collect();
    // A stable sort: equal scores keep catalog order.
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    Ok(scored
        .into_iter()
        .take(MAX_MATCHES)
        .map(|(score, entry)| entry.to_match(score, action))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(k: u16, v: &str) -> Cell {
        Cell { k, v: v.to_owned() }
    }

    fn first(query: &str) -> Match {
        find(query, None, None)
            .expect("valid query")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no match for {query:?}"))
    }

    fn order_params(m: &Match) -> Vec<Vec<Cell>> {
        m.orders.iter().map(|o| o.params.clone()).collect()
    }

    #[test]
    fn folding_strips_accents_case_and_punctuation() {
        assert_eq!(fold("  Entrée — Salle_à-manger  "), "entree salle a manger");
        assert_eq!(fold("L'Œuvre ÆSOP Ça"), "l oeuvre aesop ca");
        assert_eq!(fold("zsb1 WC2"), "zsb 1 wc 2");
        assert_eq!(fold("!!!"), "");
        assert_eq!(fold("Hors-gel ÉTEINDRE"), "hors gel eteindre");
    }

    #[test]
    fn bedroom_3_lamp_is_first_with_its_real_masks() {
        for query in [
            "petite chambre 3",
            "Petite Chambre 3",
            "PETITE_CHAMBRE_3",
            "bedroom 3",
        ] {
            let m = first(query);
            assert_eq!(
                (m.kind, m.id.as_str()),
                ("light", "petite_chambre_3"),
                "{query}"
            );
            assert_eq!(m.name, "Petite chambre 3");
            assert_eq!(m.category, "light");
            assert_eq!(
                order_params(&m),
                vec![vec![cell(613, "64")], vec![cell(607, "64")]],
                "{query}"
            );
            assert_eq!(m.orders[0].action, "allumer (on)");
            assert_eq!(m.orders[1].action, "éteindre (off)");
            assert_eq!(m.cells[0].index, 613);
            assert_eq!(m.cells[1].index, 607);
            assert!(!m.cells[0].name.is_empty());
        }
    }

    #[test]
    fn numbers_must_match_exactly() {
        let found = find("chambre 3", None, None).expect("ok");
        assert_eq!(
            (found[0].kind, found[0].id.as_str()),
            ("light", "petite_chambre_3")
        );
        let rank = |id: &str, kind: &str| found.iter().position(|m| m.id == id && m.kind == kind);
        let three = rank("petite_chambre_3", "light").expect("listed");
        // Every entry with a 3 comes before every bedroom 1 or 2 entry.
        for (n, m) in found.iter().enumerate() {
            if m.id.contains("chambre_1") || m.id.contains("chambre_2") {
                assert!(n > three, "{} listed at {n}", m.id);
                assert!(n > rank("petite_chambre_3", "shutter").expect("shutter listed"));
                assert!(n > rank("petite_chambre_3_var", "dimmer").expect("dimmer listed"));
            }
        }
        // The lamp leads alone, and a bare number is no match when the query has words.
        assert!(found[0].score > found[1].score);
        assert!(
            !found
                .iter()
                .any(|m| m.id == "salon_3" || m.id == "scenario_3"),
            "{found:?}"
        );
        assert!(find("custom 1", None, None)
            .expect("ok")
            .iter()
            .all(|m| m.kind == "scenario"));
        // A query of numbers only still matches by number.
        assert!(find("3", None, None)
            .expect("ok")
            .iter()
            .all(|m| m.id.contains('3')));
        // Labels beat aliases: "chambre" lists bedroom devices before the night zone.
        let bedrooms = find("chambre", None, None).expect("ok");
        assert_ne!(bedrooms[0].kind, "heating_zone");
        // "13" is not "3".
        assert!(find("chambre 13", None, None)
            .expect("ok")
            .iter()
            .all(|m| m.score < TIER_SOME || !m.id.contains("chambre_3")));
    }

    #[test]
    fn accents_are_ignored_and_action_keeps_one_order() {
        let m = first("entree");
        assert_eq!((m.name, m.kind), ("Entrée", "light"));
        let off = find("entree", None, Some("eteindre")).expect("ok");
        assert_eq!(off[0].name, "Entrée");
        assert_eq!(order_params(&off[0]), vec![vec![cell(605, "1")]]);
        assert_eq!(off[0].orders[0].action, "éteindre (off)");
        let on = find("l'entrée", None, Some("Allume")).expect("ok");
        assert_eq!(order_params(&on[0]), vec![vec![cell(611, "1")]]);
        let closed = find("volet bureau", None, Some("fermé")).expect("ok");
        assert_eq!(
            (closed[0].kind, closed[0].id.as_str()),
            ("shutter", "bureau")
        );
        assert_eq!(order_params(&closed[0]), vec![vec![cell(620, "32")]]);
    }

    #[test]
    fn category_filters() {
        let found = find("salon", Some("shutter"), None).expect("ok");
        assert!(!found.is_empty());
        assert!(found
            .iter()
            .all(|m| m.category == "shutter" && (m.kind == "shutter" || m.kind == "awning")));
        let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["salon_1", "salon_2", "salon_3"]);
        let volets = find("salon", Some("Volets"), None).expect("ok");
        assert_eq!(volets, found);
        let lights = find("salon", Some("lumière"), None).expect("ok");
        assert!(lights.iter().all(|m| m.category == "light"));
        assert!(lights.iter().any(|m| m.kind == "dimmer" && m.id == "salon"));
        let awning = first("store banne");
        assert_eq!((awning.kind, awning.category), ("awning", "shutter"));
        assert_eq!(
            order_params(&awning),
            vec![vec![cell(622, "8")], vec![cell(619, "8")]]
        );
        assert_eq!(awning.note, Some(AWNING_NOTE));
    }

    #[test]
    fn results_are_deterministic_and_sorted() {
        for query in ["salon", "chambre", "lampe", "volet", "je", "chauffage"] {
            let a = serde_json::to_string(&find(query, None, None).expect("ok")).expect("json");
            let b = serde_json::to_string(&find(query, None, None).expect("ok")).expect("json");
            assert_eq!(a, b, "{query}");
            let found = find(query, None, None).expect("ok");
            assert!(found.len() <= MAX_MATCHES);
            assert!(
                found.windows(2).all(|w| w[0].score >= w[1].score),
                "{query}"
            );
            assert!(found.iter().all(|m| m.score > 0));
        }
        // Ties keep catalog order: the three living-room shutters, 1 then 2 then 3.
        let found = find("volet salon", None, None).expect("ok");
        let ids: Vec<&str> = found.iter().take(3).map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["salon_1", "salon_2", "salon_3"]);
        assert!(found.iter().take(3).all(|m| m.kind == "shutter"));
    }

    #[test]
    fn scenarios_launch_their_slot() {
        for query in [
            "je vais me coucher",
            "Je vais me coucher !",
            "bedtime",
            "going to bed",
        ] {
            let m = first(query);
            assert_eq!(
                (m.kind, m.id.as_str()),
                ("scenario", "scenario_5"),
                "{query}"
            );
            assert_eq!(m.name, "Je vais me coucher");
            assert_eq!(order_params(&m), vec![vec![cell(590, "5")]]);
            assert_eq!(m.cells[0].index, 590);
        }
        assert_eq!(first("je sors").id, "scenario_2");
        assert_eq!(first("leaving").id, "scenario_2");
        assert_eq!(first("vacation").id, "scenario_3");
        assert_eq!(first("coming home").id, "scenario_4");
        assert_eq!(first("je me lève").id, "scenario_6");
        assert_eq!(first("waking up").id, "scenario_6");
        // The action does not filter scenario orders.
        let m = find("je sors", Some("scénario"), Some("off")).expect("ok");
        assert_eq!(order_params(&m[0]), vec![vec![cell(590, "2")]]);
    }

    #[test]
    fn selects_offer_every_mode() {
        let water = first("cumulus");
        assert_eq!(
            (water.kind, water.category),
            ("water_heater", "water_heater")
        );
        assert_eq!(water.cells[0].index, 353);
        assert_eq!(
            order_params(&water),
            vec![
                vec![cell(353, "0")],
                vec![cell(353, "1")],
                vec![cell(353, "2")]
            ]
        );
        assert_eq!(water.orders[0].action, "mode Marche");
        assert_eq!(first("chauffe-eau").id, "water_heater");
        assert_eq!(first("water heater").id, "water_heater");
        let night = first("chauffage zone nuit");
        assert_eq!(
            (night.kind, night.id.as_str()),
            ("heating_zone", "heating_zn")
        );
        assert_eq!(night.cells[0].index, 350);
        assert_eq!(night.orders.len(), 8);
        assert!(night
            .orders
            .iter()
            .any(|o| o.action == "mode Confort" && o.params == [cell(350, "17")]));
        assert_eq!(first("night zone heating").id, "heating_zn");
        let watering = first("arrosage");
        assert_eq!(
            (watering.kind, watering.category),
            ("watering", "irrigation")
        );
        assert!(watering
            .orders
            .iter()
            .any(|o| o.params == [cell(363, "255")]));
        let heating = find("zone", Some("heating"), None).expect("ok");
        assert_eq!(heating.len(), 2);
    }

    #[test]
    fn the_alarm_has_no_order_but_a_note() {
        for query in ["alarme", "Alarm", "sécurité"] {
            let m = first(query);
            assert_eq!(
                (m.kind, m.category, m.id.as_str()),
                ("alarm", "security", "alarm")
            );
            assert!(m.orders.is_empty());
            let cells: Vec<u16> = m.cells.iter().map(|c| c.index).collect();
            assert_eq!(cells, [920, 413, 407]);
            let note = m.note.expect("note");
            assert!(note.contains("POST /api/v1/alarm") && note.contains("--box-key"));
        }
        let json = serde_json::to_value(first("alarme")).expect("json");
        assert_eq!(json["orders"], serde_json::json!([]));
        let lamp = serde_json::to_value(first("petite chambre 3")).expect("json");
        assert!(lamp.get("note").is_none());
        assert_eq!(
            lamp["orders"][0]["params"],
            serde_json::json!([{"k": 613, "v": "64"}])
        );
    }

    #[test]
    fn errors_name_the_accepted_values() {
        assert_eq!(find("", None, None), Err(FindError::EmptyName));
        assert_eq!(find(" -- ' ", None, None), Err(FindError::EmptyName));
        assert!(FindError::EmptyName.to_string().contains("chambre 3"));
        let category = find("salon", Some("garage"), None).expect_err("bad category");
        assert_eq!(category, FindError::UnknownCategory("garage".to_owned()));
        let message = category.to_string();
        for c in CATEGORIES {
            assert!(message.contains(c.name()), "{message}");
        }
        let action = find("salon", None, Some("toggle")).expect_err("bad action");
        assert_eq!(action, FindError::UnknownAction("toggle".to_owned()));
        let message = action.to_string();
        for verb in [
            "allumer", "eteindre", "ouvrir", "fermer", "on", "off", "open", "close",
        ] {
            assert!(message.contains(verb), "{message}");
        }
        // Blank optional arguments are no filter.
        assert_eq!(
            find("salon", Some(" "), Some("")).expect("ok"),
            find("salon", None, None).expect("ok")
        );
    }

    #[test]
    fn parse_accepts_aliases() {
        assert_eq!(Category::parse("Water_Heater"), Some(Category::WaterHeater));
        assert_eq!(Category::parse("eau chaude"), Some(Category::WaterHeater));
        assert_eq!(Category::parse("Alarme"), Some(Category::Security));
        assert_eq!(Category::parse("ARROSAGE"), Some(Category::Irrigation));
        assert_eq!(Category::parse("lumière"), Some(Category::Light));
        assert_eq!(Category::parse("garage"), None);
        for c in CATEGORIES {
            assert_eq!(Category::parse(c.name()), Some(c));
        }
        for on in [
            "allumer", "Allume", "on", "OUVRIR", "ouvre", "open", "turn on",
        ] {
            assert_eq!(Action::parse(on), Some(Action::OnOrOpen), "{on}");
        }
        for off in [
            "éteindre",
            "eteindre",
            "Éteins",
            "off",
            "fermer",
            "ferme",
            "close",
        ] {
            assert_eq!(Action::parse(off), Some(Action::OffOrClose), "{off}");
        }
        assert_eq!(Action::parse("toggle"), None);
    }

    #[test]
    fn unmatched_names_give_no_result() {
        assert_eq!(find("xyzzy", None, None), Ok(Vec::new()));
        assert_eq!(find("le", None, None), Ok(Vec::new()));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let long = "chambre ".repeat(1250);
        let digits = "9".repeat(10_000);
        let mixed: String = (0..10_000u32)
            .filter_map(char::from_u32)
            .collect::<String>();
        let inputs = [
            "🏠💡🔥",
            "💡 salon 💡",
            long.as_str(),
            digits.as_str(),
            mixed.as_str(),
            "!!!???...,,,;;;",
            "\u{0}\u{1f}\u{7f}",
            "ǅ İ ẞ ﬁ",
            "chambre ٣",
            "0000",
            "\u{200b}salon\u{200b}",
        ];
        for input in inputs {
            for category in [None, Some("light"), Some("🚿")] {
                for action in [None, Some("off"), Some("\u{0}")] {
                    if let Ok(found) = find(input, category, action) {
                        assert!(found.len() <= MAX_MATCHES);
                    }
                }
            }
        }
        assert_eq!(find("!!!???", None, None), Err(FindError::EmptyName));
        assert_eq!(find(&long, None, None).map(|f| f.is_empty()), Ok(false));
    }

    #[test]
    fn every_entry_is_findable_by_its_label() {
        for entry in entries() {
            let found = find(entry.name, None, None).expect("ok");
            assert!(
                found
                    .first()
                    .is_some_and(|m| m.name == entry.name && m.kind == entry.kind),
                "{} ({})",
                entry.name,
                entry.kind
            );
        }
        assert_eq!(entries().len(), 48 + 7 + 6 + 1);
    }
}
