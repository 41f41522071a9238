//! Reads a policy document (well-formed XML, expressions already entity-encoded) into
//! an element tree without recursion: one open-element stack, refused beyond
//! `MAX_DEPTH`, so a hostile document cannot overflow the stack or build a tree whose
//! drop would.

use quick_xml::Reader;
use quick_xml::escape::{resolve_predefined_entity, unescape};
use quick_xml::events::{BytesStart, Event};

use super::{Element, Node, PolicyError};

/// Element nesting beyond which a policy is refused. APIM documents no limit; real
/// policies nest under ten levels (`on-error` > `choose` > `when` > `return-response` >
/// `set-body`), and .NET's XmlReader, which APIM reads policies with, has no depth limit
/// of its own either, so this is the emulator's guard, named in the error.
pub const MAX_DEPTH: usize = 64;

fn line_at(text: &str, pos: u64) -> usize {
    let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn element(start: &BytesStart<'_>, line: usize) -> Result<Element, PolicyError> {
    let bad = |message: String| PolicyError::Xml { line, message };
    let name = start.name().as_ref().to_string();
    let mut attributes = Vec::new();
    for attr in start.attributes().with_checks(true) {
        let attr = attr.map_err(|e| bad(format!("in <{name}>: {e}")))?;
        let key = attr.key.as_ref().to_string();
        let raw: &str = &attr.value;
        if raw.contains('<') {
            return Err(bad(format!(
                "in <{name}>: '<' is not allowed in the value of attribute '{key}' (write &lt;, or send the policy as rawxml)"
            )));
        }
        // Attribute-value normalisation (XML 1.0 section 3.3.3, as .NET's XmlReader, which
        // APIM reads policies with, applies it): a literal line break or tab is a space;
        // one written as a character reference (`&#10;`) stays what it is.
        let normalised = raw.replace("\r\n", " ").replace(['\n', '\r', '\t'], " ");
        let value = unescape(&normalised)
            .map_err(|e| bad(format!("in <{name}> attribute '{key}': {e}")))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}

/// The open elements and the text gathered for the innermost one.
struct Builder {
    open: Vec<Element>,
    text: String,
    root: Option<Element>,
}

impl Builder {
    fn flush_text(&mut self, line: usize) -> Result<(), PolicyError> {
        let text = std::mem::take(&mut self.text);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        match self.open.last_mut() {
            Some(parent) => {
                parent.children.push(Node::Text(trimmed.to_string()));
                Ok(())
            }
            None => Err(PolicyError::Xml {
                line,
                message: "text outside the root element".into(),
            }),
        }
    }

    fn open(&mut self, el: Element, line: usize) -> Result<(), PolicyError> {
        if self.root.is_some() {
            return Err(PolicyError::Xml {
                line,
                message: format!(
                    "<{}> after the root element: a policy has one root",
                    el.name
                ),
            });
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(PolicyError::TooDeep {
                line,
                limit: MAX_DEPTH,
            });
        }
        self.open.push(el);
        Ok(())
    }

    fn close(&mut self) {
        let el = self.open.pop().expect("the reader checks end tags");
        match self.open.last_mut() {
            Some(parent) => parent.children.push(Node::Element(el)),
            None => self.root = Some(el),
        }
    }
}

/// The tree of a well-formed policy document.
pub fn read(xml: &str) -> Result<Element, PolicyError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut b = Builder {
        open: Vec::new(),
        text: String::new(),
        root: None,
    };
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| PolicyError::Xml {
            line: line_at(xml, reader.error_position()),
            message: e.to_string(),
        })?;
        let line = line_at(xml, pos);
        let bad = |message: String| PolicyError::Xml { line, message };
        match event {
            Event::Start(s) => {
                b.flush_text(line)?;
                let el = element(&s, line)?;
                b.open(el, line)?;
            }
            Event::Empty(s) => {
                b.flush_text(line)?;
                let el = element(&s, line)?;
                b.open(el, line)?;
                b.close();
            }
            Event::End(_) => {
                b.flush_text(line)?;
                b.close();
            }
            Event::Text(t) => b.text.push_str(&t.xml10_content()),
            Event::CData(t) => b.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&r)
                        .ok_or_else(|| bad(format!("unknown entity '&{};'", &*r)))?
                        .to_string(),
                    Err(e) => return Err(bad(e.to_string())),
                };
                b.text.push_str(&resolved);
            }
            Event::Comment(c) => {
                b.flush_text(line)?;
                if let Some(parent) = b.open.last_mut() {
                    parent
                        .children
                        .push(Node::Comment(c.xml10_content().into_owned()));
                }
            }
            Event::DocType(_) => {
                return Err(bad("a policy may not declare a DOCTYPE".into()));
            }
            Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(el) = b.open.last() {
        return Err(PolicyError::Xml {
            line: line_at(xml, xml.len() as u64),
            message: format!("<{}> is not closed", el.name),
        });
    }
    b.root.ok_or(PolicyError::Xml {
        line: 1,
        message: "the policy has no root element".into(),
    })
}
