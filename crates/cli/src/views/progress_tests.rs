//! On a terminal, what the run says while bars spin (the interrupt message, a resource
//! done) stays on the screen above the bars: checked on a modelled screen, the way
//! indicatif draws on a terminal (cursor moves, line clears, writes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressDrawTarget, TermLike};
use serde_json::json;

use super::{Mode, Progress};
use aoai_lb_engine::apply::Observer;
use aoai_lb_engine::plan::Change;

/// A terminal screen: rows of text and a cursor.
#[derive(Clone, Debug, Default)]
struct Screen(Arc<Mutex<(Vec<String>, usize, usize)>>);

impl Screen {
    fn rows(&self) -> Vec<String> {
        self.0.lock().unwrap().0.clone()
    }

    fn edit(&self, f: impl FnOnce(&mut Vec<String>, &mut usize, &mut usize)) {
        let mut g = self.0.lock().unwrap();
        let (rows, row, col) = &mut *g;
        while rows.len() <= *row {
            rows.push(String::new());
        }
        f(rows, row, col);
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        100
    }
    fn height(&self) -> u16 {
        40
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.edit(|_, row, _| *row = row.saturating_sub(n));
        Ok(())
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.edit(|_, row, _| *row += n);
        Ok(())
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.edit(|_, _, col| *col += n);
        Ok(())
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.edit(|_, _, col| *col = col.saturating_sub(n));
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.edit(|_, row, col| {
            *row += 1;
            *col = 0;
        });
        Ok(())
    }
    /// As a terminal writes: `\r` to the line's start, `\n` to the next line, and a
    /// character past the right edge wraps to the next line (indicatif pads each line to
    /// the width and relies on that).
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let width = usize::from(self.width());
        for c in s.chars() {
            self.edit(|rows, row, col| match c {
                '\r' => *col = 0,
                '\n' => {
                    *row += 1;
                    *col = 0;
                }
                c => {
                    if *col >= width {
                        *row += 1;
                        *col = 0;
                        if rows.len() <= *row {
                            rows.push(String::new());
                        }
                    }
                    let mut chars: Vec<char> = rows[*row].chars().collect();
                    chars.resize(chars.len().max(*col + 1), ' ');
                    chars[*col] = c;
                    rows[*row] = chars.into_iter().collect();
                    *col += 1;
                }
            });
        }
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.edit(|rows, row, col| {
            rows[*row].clear();
            *col = 0;
        });
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

fn change(address: &str) -> Change {
    let entry = serde_json::from_value(json!({
        "address": address,
        "kind": "account",
        "id": format!("/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/{address}"),
        "apiVersion": "2024-10-01",
        "owned": true,
    }))
    .unwrap();
    Change::delete(&entry)
}

#[test]
fn the_interrupt_message_stays_above_the_bars_on_a_terminal() {
    let screen = Screen::default();
    let progress = Progress::with_target(
        Mode::Terminal,
        false,
        Duration::from_secs(10),
        ProgressDrawTarget::term_like(Box::new(screen.clone())),
    );
    let (a, b) = (change("account.a"), change("account.b"));
    progress.started(&a);
    progress.started(&b);
    progress.interrupted(false);
    // The bars are redrawn below it as they spin and as one ends.
    progress.finished(&a, Duration::from_secs(1), &Ok(()));
    let rows = screen.rows();
    let at = |text: &str| rows.iter().position(|r| r.contains(text));
    let said = at("Interrupted: starting nothing new")
        .unwrap_or_else(|| panic!("not on the screen: {rows:#?}"));
    let bar = at("account.b: destroying...").expect("b's bar is on the screen");
    let done = at("account.a: destroyed").expect("a's line is on the screen");
    assert!(said < done && done < bar, "{rows:#?}");
    progress.abandoned(&b);
    let rows = screen.rows();
    let at = |text: &str| rows.iter().position(|r| r.contains(text));
    assert!(
        at("Interrupted: starting nothing new").is_some(),
        "{rows:#?}"
    );
    assert!(
        at("account.b: abandoned while destroying").is_some(),
        "{rows:#?}"
    );
    assert!(
        at("account.b: destroying...").is_none(),
        "the bar is gone: {rows:#?}"
    );
}
