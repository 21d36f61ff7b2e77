//! Running engine commands: capture small outputs, stream long build logs, and stop the child
//! when the user interrupts.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How often a wait checks for an interruption.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait for more output once the child has exited but the pipe is still open.
const DRAIN: Duration = Duration::from_millis(500);
/// How long an interrupted child gets to clean up before it is killed.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) enum ExecError {
    /// The program is not installed (or not on `PATH`).
    NotFound(String),
    Io(io::Error),
    /// The user pressed Ctrl-C (or the process got SIGTERM); the child was killed.
    Interrupted,
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(program) => write!(f, "`{program}` is not installed"),
            Self::Io(e) => write!(f, "{e}"),
            Self::Interrupted => write!(f, "interrupted"),
        }
    }
}

/// A finished command's status and output.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Captured {
    /// Stdout when the command succeeded, otherwise an error quoting its stderr.
    pub(crate) fn ok(self, what: &str) -> Result<String, String> {
        if self.status.success() {
            Ok(self.stdout)
        } else {
            Err(format!(
                "{what} failed ({}): {}",
                self.status,
                self.stderr.trim()
            ))
        }
    }
}

fn spawn(cmd: &mut Command) -> Result<Child, ExecError> {
    cmd.stdin(Stdio::null()).spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            ExecError::NotFound(cmd.get_program().to_string_lossy().into_owned())
        } else {
            ExecError::Io(e)
        }
    })
}

/// Stops `child`: SIGINT first, because buildah removes its build container on SIGINT but
/// not on SIGKILL; SIGKILL when it has not exited after [`GRACE`].
fn halt(child: &mut Child) {
    // std can only send SIGKILL, and `unsafe` (for libc::kill) is forbidden: use kill(1).
    let asked = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if asked {
        let mut waited = Duration::ZERO;
        while waited < GRACE {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(POLL);
            waited += POLL;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child`, stopping it when `stop` is set.
fn wait(child: &mut Child, stop: &AtomicBool) -> Result<ExitStatus, ExecError> {
    loop {
        if stop.load(Ordering::SeqCst) {
            halt(child);
            return Err(ExecError::Interrupted);
        }
        if let Some(status) = child.try_wait().map_err(ExecError::Io)? {
            return Ok(status);
        }
        thread::sleep(POLL);
    }
}

/// Runs `cmd` to completion and returns what it printed.
pub(crate) fn capture(cmd: &mut Command, stop: &AtomicBool) -> Result<Captured, ExecError> {
    let mut child = spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))?;
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("both streams were piped");
    };
    thread::scope(|scope| {
        // Read both pipes while waiting, so a chatty child never blocks on a full pipe.
        let out_reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            bytes
        });
        let err_reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            bytes
        });
        let status = wait(&mut child, stop)?;
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        Ok(Captured {
            status,
            stdout: text(out_reader.join().unwrap_or_default()),
            stderr: text(err_reader.join().unwrap_or_default()),
        })
    })
}

/// Runs `cmd` and hands its standard output to `read` as it arrives (for outputs too large to
/// hold, such as `docker save`). Returns the exit status, what `read` returned, and stderr.
/// When `read` returns early the pipe is closed, which ends a writer that is still going.
pub(crate) fn read_stdout<T: Send>(
    cmd: &mut Command,
    stop: &AtomicBool,
    read: impl FnOnce(&mut dyn Read) -> T + Send,
) -> Result<(ExitStatus, T, String), ExecError> {
    let mut child = spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))?;
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("both streams were piped");
    };
    thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let value = read(&mut out);
            drop(out);
            value
        });
        let err_reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            bytes
        });
        let status = wait(&mut child, stop)?;
        let value = reader
            .join()
            .map_err(|_| ExecError::Io(io::Error::other("the output reader panicked")))?;
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
        Ok((status, value, stderr))
    })
}

/// Runs `cmd` with stdout and stderr merged, copying every line to `log` and handing it to
/// `on_line` as it arrives. Returns the exit status and the whole output.
pub(crate) fn stream(
    cmd: &mut Command,
    log: &mut dyn Write,
    stop: &AtomicBool,
    on_line: &mut dyn FnMut(&str),
) -> Result<(ExitStatus, String), ExecError> {
    let (reader, writer) = io::pipe().map_err(ExecError::Io)?;
    let writer2 = writer.try_clone().map_err(ExecError::Io)?;
    let child = spawn(cmd.stdout(writer).stderr(writer2));
    // Drop the Command's copies of the write ends, so the pipe closes when the child exits.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = child?;
    let (tx, rx) = mpsc::channel::<String>();
    let lines = thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                break;
            }
            buf.clear();
        }
    });
    let mut all = String::new();
    let mut take = |line: String, all: &mut String| {
        let _ = log.write_all(line.as_bytes());
        on_line(line.trim_end_matches(['\n', '\r']));
        all.push_str(&line);
    };
    let status = loop {
        match rx.recv_timeout(POLL) {
            Ok(line) => take(line, &mut all),
            Err(mpsc::RecvTimeoutError::Disconnected) => break wait(&mut child, stop)?,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::SeqCst) {
                    halt(&mut child);
                    return Err(ExecError::Interrupted);
                }
                // A grandchild may keep the pipe open after the child exits: take what is
                // already there, then stop listening.
                if let Some(status) = child.try_wait().map_err(ExecError::Io)? {
                    while let Ok(line) = rx.recv_timeout(DRAIN) {
                        take(line, &mut all);
                    }
                    break status;
                }
            }
        }
    };
    drop(rx);
    // Joined only when done: a pipe held open by a grandchild would block the join, and the
    // thread ends by itself on its next send or at EOF.
    if lines.is_finished() {
        let _ = lines.join();
    }
    let _ = log.flush();
    Ok((status, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_streams_apart_and_reports_status() {
        let stop = AtomicBool::new(false);
        let got = capture(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            &stop,
        )
        .unwrap();
        assert_eq!(got.status.code(), Some(3));
        assert_eq!(got.stdout, "out\n");
        assert_eq!(got.stderr, "err\n");
        assert!(got.ok("sh").unwrap_err().contains("err"));
    }

    #[test]
    fn stream_merges_lines_in_order_into_log_and_callback() {
        let stop = AtomicBool::new(false);
        let mut log = Vec::new();
        let mut seen = Vec::new();
        let (status, all) = stream(
            Command::new("sh").args(["-c", "echo one; echo two >&2; printf three"]),
            &mut log,
            &stop,
            &mut |line| seen.push(line.to_owned()),
        )
        .unwrap();
        assert!(status.success());
        assert_eq!(seen, ["one", "two", "three"]);
        assert_eq!(all, "one\ntwo\nthree");
        assert_eq!(log, all.as_bytes());
    }

    #[test]
    fn a_set_stop_flag_kills_the_child() {
        let stop = AtomicBool::new(true);
        let err = capture(Command::new("sleep").arg("30"), &stop).unwrap_err();
        assert!(matches!(err, ExecError::Interrupted));
        let err = stream(
            Command::new("sleep").arg("30"),
            &mut io::sink(),
            &stop,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, ExecError::Interrupted));
    }

    #[test]
    fn read_stdout_streams_to_the_reader_and_keeps_stderr() {
        let stop = AtomicBool::new(false);
        let (status, lines, stderr) = read_stdout(
            Command::new("sh").args(["-c", "seq 1 100000; echo done >&2"]),
            &stop,
            |out| BufReader::new(out).lines().count(),
        )
        .unwrap();
        assert!(status.success());
        assert_eq!((lines, stderr.as_str()), (100_000, "done\n"));
        // A reader that stops early does not leave the writer blocked on a full pipe.
        let (_, first, _) = read_stdout(&mut Command::new("yes"), &stop, |out| {
            let mut byte = [0u8; 1];
            out.read_exact(&mut byte).map(|()| byte[0])
        })
        .unwrap();
        assert_eq!(first.unwrap(), b'y');
    }

    #[test]
    fn a_missing_program_is_named() {
        let stop = AtomicBool::new(false);
        let err = capture(&mut Command::new("dfrewrite-no-such-program"), &stop).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`dfrewrite-no-such-program` is not installed"
        );
    }
}
