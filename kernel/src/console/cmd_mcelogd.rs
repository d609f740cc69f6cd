//! The console's `mcelogd` command: the record daemon's start, stop and
//! state, as an operator runs `systemctl start|stop mcelog`.

use crate::kprint;
use crate::mca::log::reader::parse_filter;
use crate::task;

/// The running daemon tasks (normally one), oldest first.
fn running() -> alloc::vec::Vec<alloc::sync::Arc<task::Task>> {
    task::list()
        .into_iter()
        .filter(|t| t.name == "mcelogd" && t.state() != task::DEAD && !t.kill_requested())
        .collect()
}

/// `mcelogd [status] | start [filter words] | stop`.
pub fn run(args: &[&str]) {
    match args {
        [] | ["status"] => match running().first() {
            Some(t) => kprint!("mcelogd: running as task {}\n", t.id),
            None => kprint!("mcelogd: not running ('mcelogd start' starts it)\n"),
        },
        ["start", words @ ..] => start(words),
        ["stop"] => {
            let all = running();
            if all.is_empty() {
                kprint!("mcelogd: not running\n");
            }
            for t in all {
                match task::kill(t.id) {
                    Ok(t) => kprint!("mcelogd: stopping task {}\n", t.id),
                    Err(e) => kprint!("mcelogd: {e}\n"),
                }
            }
        }
        _ => kprint!("usage: mcelogd [status] | start [filter words] | stop\n"),
    }
}

/// Starts the daemon with `words` as its reader's filter (else its boot
/// key `mcelogd.filter`, else every record). A second daemon would print
/// every record twice, so one that runs is left as it is.
fn start(words: &[&str]) {
    if let Some(t) = running().first() {
        kprint!("mcelogd: already running as task {}\n", t.id);
        return;
    }
    let filter = words.join(" ");
    if let Err(why) = parse_filter(&filter) {
        kprint!("mcelogd: bad filter '{filter}': {why}; not started\n");
        return;
    }
    // The daemon reads its filter from the argument block up to a NUL or
    // FILTER_MAX bytes.
    let mut arg = alloc::vec::Vec::from(filter.as_bytes());
    if !arg.is_empty() {
        arg.push(0);
    }
    match task::spawn_with("mcelogd", None, &arg, 0) {
        Ok(t) if filter.is_empty() => kprint!("mcelogd: started as task {}\n", t.id),
        Ok(t) => kprint!("mcelogd: started as task {} with filter '{filter}'\n", t.id),
        Err(e) => kprint!("mcelogd: not started: {e}\n"),
    }
}
