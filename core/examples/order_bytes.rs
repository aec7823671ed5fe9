//! Turns an order into the exact `myactions` bodies the box would receive, with fixed guids
//! (`00000000-0000-4000-8000-000000000001`, `…002`, …) so the output is reproducible.
//!
//! ```text
//! cargo run -p essensys-core --example order_bytes -- light petite_chambre_3 on
//! cargo run -p essensys-core --example order_bytes -- shutter salon_1 close
//! cargo run -p essensys-core --example order_bytes -- cell 349 18 [INDEX VALUE]...
//! cargo run -p essensys-core --example order_bytes -- launch 3
//! ```
//!
//! Without arguments: `light petite_chambre_3 on`. The order goes through the same checks as
//! at the gateway (`Order::commands`): a refused order prints why and exits 1; words that name
//! no order (an unknown kind or device) print the usage and exit 2. Actions that do not fit in
//! one reply go in the next, as they would over successive polls.

use std::{error::Error, process::ExitCode};

use essensys_core::{
    catalog::DeviceKind,
    order::{DeviceOrder, RawCell, Switch},
    reply, Action, Guid, Order,
};

const USAGE: &str = "usage: order_bytes [light|dimmer|shutter|awning ID on|off|open|close] \
                     [cell INDEX VALUE [INDEX VALUE]...] [launch N]";

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = if args.is_empty() {
        vec!["light", "petite_chambre_3", "on"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let order = match order_of(&words) {
        Ok(order) => order,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return Ok(ExitCode::from(2));
        }
    };
    let commands = match order.commands() {
        Ok(commands) => commands,
        Err(refused) => {
            eprintln!("refused: {refused}");
            return Ok(ExitCode::FAILURE);
        }
    };

    let mut actions: Vec<Action> = Vec::new();
    for (n, command) in commands.into_iter().enumerate() {
        let params: Vec<String> = command
            .iter_params()
            .map(|p| format!("{}={}", p.index, p.value))
            .collect();
        let guid = Guid::from_random(n as u128 + 1);
        println!("action {guid}: {}", params.join(" "));
        actions.push(Action { guid, command });
    }

    // The transport also takes its HTTP head out of one segment; the body alone is shown here.
    let budget = reply::ONE_SEGMENT_LIMIT;
    let mut waiting = actions.as_slice();
    while !waiting.is_empty() {
        let mut body = Vec::new();
        let packed = reply::encode_actions(&mut body, None, waiting, budget);
        if packed == 0 {
            return Err(format!("an action does not fit in {budget} bytes").into());
        }
        println!("myactions ({} bytes):", body.len());
        println!("{}", String::from_utf8_lossy(&body));
        waiting = &waiting[packed..];
    }
    Ok(ExitCode::SUCCESS)
}

/// The order the words name, or what is wrong with them.
fn order_of(words: &[&str]) -> Result<Order, String> {
    match words {
        ["cell", pairs @ ..] if !pairs.is_empty() && pairs.len() % 2 == 0 => {
            let cells = pairs
                .chunks(2)
                .map(|pair| {
                    let k = pair[0]
                        .parse()
                        .map_err(|_| format!("{:?} is not an index", pair[0]))?;
                    Ok(RawCell {
                        k,
                        v: pair[1].to_string(),
                    })
                })
                .collect::<Result<_, String>>()?;
            Ok(Order::Cells(cells))
        }
        ["cell", ..] => Err("cell takes INDEX VALUE pairs".into()),
        ["launch", n] => n
            .parse()
            .map(Order::Launch)
            .map_err(|_| format!("{n:?} is not a scenario slot")),
        [kind, id, switch] => {
            let kind = match *kind {
                "light" => DeviceKind::Light,
                "dimmer" => DeviceKind::Dimmer,
                "shutter" => DeviceKind::Shutter,
                "awning" => DeviceKind::Awning,
                other => return Err(format!("no device kind {other:?}")),
            };
            let switch = match *switch {
                "on" | "open" => Switch::OnOrOpen,
                "off" | "close" => Switch::OffOrClose,
                other => return Err(format!("{other:?} is not on, off, open or close")),
            };
            let device = DeviceOrder::find(kind, id, switch).map_err(|e| e.to_string())?;
            Ok(Order::Devices(vec![device]))
        }
        _ => Err("no order given".into()),
    }
}
