//! Conditions of a rule (policy.md §6.3): field paths, operators and their evaluation.
//!
//! A [`Condition`] is compiled once when the policy loads: its path is parsed, its operand checked
//! against its operator and turned into a [`Decimal`], a [`Glob`] or a [`Regex`]. Evaluating it
//! against an [`Action`] then never fails: a missing field or a value of the wrong type makes the
//! condition false (except for `exists`, which asks exactly that).
//!
//! The specification leaves some points open; this module settles them as follows.
//!
//! * **`$` paths.** A path that *starts* with `$` must be exactly one of `$tool_name`,
//!   `$target_host`, `$workflow` or `$account`; `$tool` and `$tool_name.x` are errors. A later
//!   segment may start with `$` (`a.$b` walks into the key `$b` of `a`), since only a one-segment
//!   path names metadata.
//! * **Metadata values are strings.** They compare like a string field, so a numeric `$account`
//!   such as `"1000"` is numeric for `gt` and `eq 1000` (policy.md §6.3.3). `$target_host` is
//!   taken as the caller passes it (normalized, sdk.md §4.2) and is missing when there is none.
//! * **Limits.** The path, each string operand and each string in an `in` list are at most
//!   64 KiB (65,536 bytes); a `regex` pattern at most 4,096 bytes (policy.md §1).
//! * **Line breaks** refused in `display` are LF, CR, vertical tab, form feed, NEL, U+2028 and
//!   U+2029: every character that some reader ends a line at.

use std::cell::OnceCell;
use std::fmt::Write as _;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

use crate::policy::glob::{Glob, GlobError};
use crate::policy::number::Decimal;

/// The largest string value of a policy, in bytes (policy.md §1).
const MAX_STRING_BYTES: usize = 64 * 1024;

/// The largest `regex` pattern, in bytes (policy.md §1).
const MAX_REGEX_BYTES: usize = 4_096;

/// The compiled-size limit of a `regex` pattern, in bytes (policy.md §6.3.6).
const REGEX_SIZE_LIMIT: usize = 1024 * 1024;

/// The most items of an `in` or `not_in` list (policy.md §1).
const MAX_LIST_ITEMS: usize = 10_000;

/// The longest `display`, in characters (policy.md §6.3).
const MAX_DISPLAY_CHARS: usize = 200;

/// The operator names, in the order error messages list them.
const OPERATOR_NAMES: &str = "gt, lt, gte, lte, eq, neq, in, not_in, exists, matches, regex";

/// The action a policy evaluates (policy.md §7.1), with its fields unredacted: conditions see real
/// values, redaction only changes what is recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Action {
    /// One of the seven verbs (policy.md §6.2), as written (`payment`, `delete`, …).
    pub verb: String,
    /// The tool's name; `$tool_name` in a condition.
    pub tool_name: String,
    /// The normalized target host, if the action has one; `$target_host` in a condition.
    pub target_host: Option<String>,
    /// The workflow; `$workflow` in a condition.
    pub workflow: String,
    /// The account; `$account` in a condition.
    pub account: String,
    /// The captured arguments, before redaction.
    pub fields: Map<String, Value>,
}

/// A field path (policy.md §6.3.1): a dotted path into the action's `fields`, or one of the four
/// metadata names. Built only by [`FieldPath::parse`], so every value is a valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// The path as written.
    text: String,
    /// The metadata it names, if it starts with `$`.
    metadata: Option<Metadata>,
}

/// The action metadata a `$` path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metadata {
    /// `$tool_name`.
    ToolName,
    /// `$target_host`; missing when the action has no host.
    TargetHost,
    /// `$workflow`.
    Workflow,
    /// `$account`.
    Account,
}

/// What a path resolved to: a JSON value from `fields`, or a metadata string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// A member of `fields` (possibly nested), `null` included.
    Field(&'a Value),
    /// A metadata value.
    Metadata(&'a str),
}

impl<'a> Resolved<'a> {
    /// The value as a string, when it is one.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Resolved::Field(Value::String(text)) => Some(text),
            Resolved::Metadata(text) => Some(text),
            Resolved::Field(_) => None,
        }
    }

    /// The value as a number, when it is numeric (policy.md §6.3.3): a JSON number, or a string in
    /// the JSON number grammar.
    pub fn as_decimal(self) -> Option<Decimal> {
        match self {
            Resolved::Field(value) => Decimal::from_field(value),
            Resolved::Metadata(text) => Decimal::parse(text),
        }
    }

    /// The value as a boolean, when it is one.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Resolved::Field(Value::Bool(flag)) => Some(*flag),
            Resolved::Field(_) | Resolved::Metadata(_) => None,
        }
    }
}

impl FieldPath {
    /// Parses a path: one or more non-empty segments separated by `.`, or exactly one of
    /// `$tool_name`, `$target_host`, `$workflow`, `$account`.
    pub fn parse(text: &str) -> Result<FieldPath, ConditionError> {
        if text.is_empty() {
            return Err(ConditionError::EmptyPath);
        }
        if text.len() > MAX_STRING_BYTES {
            return Err(ConditionError::StringTooLong {
                what: "field path",
                bytes: text.len(),
            });
        }
        let metadata = if text.starts_with('$') {
            Some(match text {
                "$tool_name" => Metadata::ToolName,
                "$target_host" => Metadata::TargetHost,
                "$workflow" => Metadata::Workflow,
                "$account" => Metadata::Account,
                _ => return Err(ConditionError::UnknownMetadata { path: shown(text) }),
            })
        } else {
            if text.split('.').any(str::is_empty) {
                return Err(ConditionError::EmptySegment { path: shown(text) });
            }
            None
        };
        Ok(FieldPath {
            text: text.to_owned(),
            metadata,
        })
    }

    /// What the path names in `action`, or `None` when it is missing: a key absent, a non-object
    /// on the way (arrays are not traversed), or `$target_host` on an action without a host.
    pub fn resolve<'a>(&self, action: &'a Action) -> Option<Resolved<'a>> {
        if let Some(metadata) = self.metadata {
            let text = match metadata {
                Metadata::ToolName => &action.tool_name,
                Metadata::TargetHost => action.target_host.as_ref()?,
                Metadata::Workflow => &action.workflow,
                Metadata::Account => &action.account,
            };
            return Some(Resolved::Metadata(text));
        }
        let mut segments = self.text.split('.');
        let mut value = action.fields.get(segments.next()?)?;
        for segment in segments {
            value = value.as_object()?.get(segment)?;
        }
        Some(Resolved::Field(value))
    }

    /// The metadata this path names, or `None` for a path into `fields`.
    pub fn metadata(&self) -> Option<Metadata> {
        self.metadata
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An operator with its compiled operand (policy.md §6.3.2).
#[derive(Debug, Clone)]
pub enum Op {
    /// `gt`: the field is numeric and greater.
    Gt(Decimal),
    /// `lt`: the field is numeric and less.
    Lt(Decimal),
    /// `gte`: the field is numeric and greater or equal.
    Gte(Decimal),
    /// `lte`: the field is numeric and less or equal.
    Lte(Decimal),
    /// `eq`: equal under policy.md §6.3.4.
    Eq(Operand),
    /// `neq`: present and not `eq`.
    Neq(Operand),
    /// `in`: `eq` to at least one item. Never empty.
    In(Vec<Operand>),
    /// `not_in`: present and `eq` to no item. Never empty.
    NotIn(Vec<Operand>),
    /// `exists`: `true` when the path must resolve, `false` when it must not.
    Exists(bool),
    /// `matches`: the field is a string and the whole of it matches the glob.
    Matches(Glob),
    /// `regex`: the field is a string and the pattern matches somewhere in it.
    Regex(Regex),
}

/// An operand of `eq`, `neq`, `in` and `not_in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A number: the field must be numeric and equal as a number.
    Number(Decimal),
    /// A string: the field must be a string with exactly these characters.
    String(String),
    /// A boolean: the field must be this boolean.
    Bool(bool),
}

impl Operand {
    /// Whether `field` equals this operand (policy.md §6.3.4). `number` caches the field's numeric
    /// value across the items of a list, so a numeric string is read once, when first needed.
    fn equals(&self, field: Resolved<'_>, number: &OnceCell<Option<Decimal>>) -> bool {
        match self {
            Operand::Number(expected) => number
                .get_or_init(|| field.as_decimal())
                .as_ref()
                .is_some_and(|value| value == expected),
            Operand::String(expected) => field.as_str() == Some(expected.as_str()),
            Operand::Bool(expected) => field.as_bool() == Some(*expected),
        }
    }
}

impl Op {
    /// The operator's name as written in the policy (`gt`, `not_in`, …).
    pub fn name(&self) -> &'static str {
        OpName::of(self).as_str()
    }
}

/// The operator names, before their operand is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpName {
    Gt,
    Lt,
    Gte,
    Lte,
    Eq,
    Neq,
    In,
    NotIn,
    Exists,
    Matches,
    Regex,
}

impl OpName {
    fn parse(name: &str) -> Option<OpName> {
        Some(match name {
            "gt" => OpName::Gt,
            "lt" => OpName::Lt,
            "gte" => OpName::Gte,
            "lte" => OpName::Lte,
            "eq" => OpName::Eq,
            "neq" => OpName::Neq,
            "in" => OpName::In,
            "not_in" => OpName::NotIn,
            "exists" => OpName::Exists,
            "matches" => OpName::Matches,
            "regex" => OpName::Regex,
            _ => return None,
        })
    }

    fn of(op: &Op) -> OpName {
        match op {
            Op::Gt(_) => OpName::Gt,
            Op::Lt(_) => OpName::Lt,
            Op::Gte(_) => OpName::Gte,
            Op::Lte(_) => OpName::Lte,
            Op::Eq(_) => OpName::Eq,
            Op::Neq(_) => OpName::Neq,
            Op::In(_) => OpName::In,
            Op::NotIn(_) => OpName::NotIn,
            Op::Exists(_) => OpName::Exists,
            Op::Matches(_) => OpName::Matches,
            Op::Regex(_) => OpName::Regex,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            OpName::Gt => "gt",
            OpName::Lt => "lt",
            OpName::Gte => "gte",
            OpName::Lte => "lte",
            OpName::Eq => "eq",
            OpName::Neq => "neq",
            OpName::In => "in",
            OpName::NotIn => "not_in",
            OpName::Exists => "exists",
            OpName::Matches => "matches",
            OpName::Regex => "regex",
        }
    }

    /// The operand the operator takes, as error messages name it.
    fn expected(self) -> &'static str {
        match self {
            OpName::Gt | OpName::Lt | OpName::Gte | OpName::Lte => "an integer or a finite float",
            OpName::Eq | OpName::Neq => "a string, an integer, a float or a boolean",
            OpName::In | OpName::NotIn => {
                "a non-empty array of strings, integers, floats and booleans"
            }
            OpName::Exists => "a boolean",
            OpName::Matches => "a string (a glob)",
            OpName::Regex => "a string (a regular expression)",
        }
    }
}

/// One condition of a rule, compiled (policy.md §6.3).
#[derive(Debug, Clone)]
pub struct Condition {
    /// The field path.
    pub field: FieldPath,
    /// The operator with its compiled operand.
    pub op: Op,
    /// The operand as written, converted to JSON; `None` only for an `exists` written without a
    /// `value`. Receipts and `rule_display` print it.
    pub value: Option<Value>,
    /// The author's text that replaces the generated one in `rule_display`.
    pub display: Option<String>,
}

/// Why a condition is not valid: a load error (`bad-value` or `wrong-type`, policy.md §10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// `field` is the empty string.
    #[error("field path is empty; name a field, for example `amount` or `card.number`")]
    EmptyPath,
    /// A path with an empty segment: `a..b`, `.a`, `a.`.
    #[error("field path `{path}` has an empty segment; separate field names with single dots")]
    EmptySegment {
        /// The path as written.
        path: String,
    },
    /// A `$` path other than the four metadata names.
    #[error("unknown metadata field `{path}`; expected one of $tool_name, $target_host, $workflow, $account")]
    UnknownMetadata {
        /// The path as written.
        path: String,
    },
    /// An `op` that is not one of the eleven operators.
    #[error("unknown operator `{op}`; expected one of {OPERATOR_NAMES}")]
    UnknownOperator {
        /// The operator as written.
        op: String,
    },
    /// No `value` for an operator that needs one.
    #[error("operator `{op}` needs a `value`; write {expected}")]
    MissingValue {
        /// The operator.
        op: &'static str,
        /// The operand it takes.
        expected: &'static str,
    },
    /// A `value` of the wrong type for its operator.
    #[error("`value` of `{op}` must be {expected}, found {found}")]
    WrongValueType {
        /// The operator.
        op: &'static str,
        /// The operand it takes.
        expected: &'static str,
        /// The type written.
        found: &'static str,
    },
    /// A TOML `nan`, `inf` or `-inf` as a `value` or list item.
    #[error("`value` must be a finite number, found `{found}`")]
    NotFinite {
        /// `nan`, `inf` or `-inf`.
        found: &'static str,
    },
    /// An `in` or `not_in` list with no items.
    #[error("`value` of `{op}` is an empty array; list at least one value")]
    EmptyList {
        /// The operator.
        op: &'static str,
    },
    /// An `in` or `not_in` list over the item limit.
    #[error("`value` of `{op}` has {items} items; the limit is 10,000")]
    ListTooLong {
        /// The operator.
        op: &'static str,
        /// The number of items written.
        items: usize,
    },
    /// An item of an `in` or `not_in` list that is not a string, number or boolean.
    #[error("item {position} of `{op}` must be a string, an integer, a float or a boolean, found {found}")]
    WrongItemType {
        /// The operator.
        op: &'static str,
        /// The item's 1-based position in the list.
        position: usize,
        /// The type written.
        found: &'static str,
    },
    /// A string over 64 KiB.
    #[error("{what} is {bytes} bytes long; the limit is 65,536 bytes (64 KiB)")]
    StringTooLong {
        /// What the string is: `field path`, `value`, `item 3 of the list`.
        what: &'static str,
        /// Its length.
        bytes: usize,
    },
    /// A `matches` pattern that is not a glob.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// A `regex` pattern over 4,096 bytes.
    #[error("regex pattern is {bytes} bytes long; the limit is 4,096 bytes")]
    RegexTooLong {
        /// Its length.
        bytes: usize,
    },
    /// A `regex` pattern the `regex` crate refuses.
    #[error("`{pattern}` is not a valid regex: {reason}")]
    InvalidRegex {
        /// The pattern as written, on one line.
        pattern: String,
        /// The crate's reason, on one line.
        reason: String,
    },
    /// A `regex` pattern whose compiled form exceeds 1 MiB.
    #[error("`{pattern}` is too large once compiled (over 1 MiB); use a simpler regex, for example with fewer or smaller repetitions")]
    RegexTooLarge {
        /// The pattern as written, on one line.
        pattern: String,
    },
    /// A `display` that is the empty string.
    #[error("`display` is empty; write 1 to 200 characters, or leave it out")]
    EmptyDisplay,
    /// A `display` over 200 characters.
    #[error("`display` is {chars} characters long; the limit is 200")]
    DisplayTooLong {
        /// Its length in Unicode scalar values.
        chars: usize,
    },
    /// A `display` with a line break.
    #[error("`display` contains a line break; write it on one line")]
    DisplayLineBreak,
}

impl Condition {
    /// Builds a condition from its parts as written: the path, the op name, the operand already
    /// converted to JSON (TOML integers as JSON integers, floats as JSON floats, strings, booleans,
    /// arrays; [`Condition::from_toml`] does the conversion), `None` when `value` was absent, and
    /// the optional `display`.
    ///
    /// The operand's type is checked for the operator, its patterns compiled and its numbers read
    /// exactly. Errors are checked in the order path, op, value, display.
    pub fn new(
        field: &str,
        op: &str,
        value: Option<Value>,
        display: Option<String>,
    ) -> Result<Condition, ConditionError> {
        let field = FieldPath::parse(field)?;
        let name =
            OpName::parse(op).ok_or_else(|| ConditionError::UnknownOperator { op: shown(op) })?;
        let op = compile_op(name, value.as_ref())?;
        if let Some(text) = &display {
            check_display(text)?;
        }
        Ok(Condition {
            field,
            op,
            value,
            display,
        })
    }

    /// [`Condition::new`] with the operand as TOML parsed it: integers, floats, strings, booleans
    /// and arrays of them. `nan`, `inf` and `-inf` are errors (policy.md §6.3.3), as are dates
    /// and tables.
    pub fn from_toml(
        field: &str,
        op: &str,
        value: Option<&toml::Value>,
        display: Option<String>,
    ) -> Result<Condition, ConditionError> {
        // Path and op first, so that errors come in the same order as from `new`.
        FieldPath::parse(field)?;
        let name =
            OpName::parse(op).ok_or_else(|| ConditionError::UnknownOperator { op: shown(op) })?;
        let json = value
            .map(|value| {
                toml_to_json(value).map_err(|problem| match problem {
                    TomlProblem::NotFinite(found) => ConditionError::NotFinite { found },
                    TomlProblem::Unsupported(found) => ConditionError::WrongValueType {
                        op: name.as_str(),
                        expected: name.expected(),
                        found,
                    },
                })
            })
            .transpose()?;
        Condition::new(field, op, json, display)
    }

    /// Whether the condition holds for `action` (policy.md §6.3.2). Never fails: a missing field
    /// or a value of the wrong type is `false`, except that `exists = false` holds exactly when
    /// the path is missing.
    pub fn evaluate(&self, action: &Action) -> bool {
        let Some(field) = self.field.resolve(action) else {
            return matches!(self.op, Op::Exists(false));
        };
        let number = OnceCell::new();
        match &self.op {
            Op::Exists(expected) => *expected,
            Op::Gt(operand) => field.as_decimal().is_some_and(|value| value > *operand),
            Op::Lt(operand) => field.as_decimal().is_some_and(|value| value < *operand),
            Op::Gte(operand) => field.as_decimal().is_some_and(|value| value >= *operand),
            Op::Lte(operand) => field.as_decimal().is_some_and(|value| value <= *operand),
            Op::Eq(operand) => operand.equals(field, &number),
            Op::Neq(operand) => !operand.equals(field, &number),
            Op::In(items) => items.iter().any(|item| item.equals(field, &number)),
            Op::NotIn(items) => !items.iter().any(|item| item.equals(field, &number)),
            Op::Matches(glob) => field.as_str().is_some_and(|text| glob.matches(text)),
            Op::Regex(regex) => field.as_str().is_some_and(|text| regex.is_match(text)),
        }
    }

    /// Whether the condition narrows a rule for the floor check (policy.md §8): every condition
    /// except `exists`, a `matches` glob with no literal character, and a `regex` that matches the
    /// empty string (and so every string).
    pub fn is_narrowing(&self) -> bool {
        match &self.op {
            Op::Exists(_) => false,
            Op::Matches(glob) => glob.has_literal(),
            Op::Regex(regex) => !regex.is_match(""),
            Op::Gt(_)
            | Op::Lt(_)
            | Op::Gte(_)
            | Op::Lte(_)
            | Op::Eq(_)
            | Op::Neq(_)
            | Op::In(_)
            | Op::NotIn(_) => true,
        }
    }

    /// The condition as receipts record it in `matched_conditions` (policy.md §7.2):
    /// `{"field", "op", "value"}`, with the operand as written and, for `exists`, its boolean
    /// (`true` when no `value` was written). `display` is not included.
    pub fn matched_json(&self) -> Value {
        let value = match (&self.op, &self.value) {
            (Op::Exists(expected), _) => Value::Bool(*expected),
            (_, Some(value)) => value.clone(),
            // Only `exists` may lack a value; `new` refuses the rest.
            (_, None) => Value::Null,
        };
        let mut object = Map::new();
        object.insert(
            "field".to_owned(),
            Value::String(self.field.as_str().to_owned()),
        );
        object.insert("op".to_owned(), Value::String(self.op.name().to_owned()));
        object.insert("value".to_owned(), value);
        Value::Object(object)
    }

    /// The condition's text in `rule_display` (policy.md §12): its `display` when written,
    /// otherwise the path followed by the operator's text, such as `amount > 1000`,
    /// `currency in ["usd", "eur"]` or `x is absent`.
    pub fn display_text(&self) -> String {
        if let Some(display) = &self.display {
            return display.clone();
        }
        let mut text = self.field.as_str().to_owned();
        let symbol = match &self.op {
            Op::Exists(true) => return text + " exists",
            Op::Exists(false) => return text + " is absent",
            Op::Gt(_) => ">",
            Op::Lt(_) => "<",
            Op::Gte(_) => ">=",
            Op::Lte(_) => "<=",
            Op::Eq(_) => "==",
            Op::Neq(_) => "!=",
            Op::In(_) => "in",
            Op::NotIn(_) => "not in",
            Op::Matches(_) => "matches",
            Op::Regex(_) => "matches regex",
        };
        text.push(' ');
        text.push_str(symbol);
        text.push(' ');
        if let Some(value) = &self.value {
            write_display_value(&mut text, value);
        }
        text
    }
}

/// Compiles the operand of `name`.
fn compile_op(name: OpName, value: Option<&Value>) -> Result<Op, ConditionError> {
    let op = name.as_str();
    let Some(value) = value else {
        return if name == OpName::Exists {
            Ok(Op::Exists(true))
        } else {
            Err(ConditionError::MissingValue {
                op,
                expected: name.expected(),
            })
        };
    };
    let wrong_type = || ConditionError::WrongValueType {
        op,
        expected: name.expected(),
        found: json_type(value),
    };
    Ok(match name {
        OpName::Gt | OpName::Lt | OpName::Gte | OpName::Lte => {
            let Value::Number(number) = value else {
                return Err(wrong_type());
            };
            let number = Decimal::from_json_number(number);
            match name {
                OpName::Gt => Op::Gt(number),
                OpName::Lt => Op::Lt(number),
                OpName::Gte => Op::Gte(number),
                _ => Op::Lte(number),
            }
        }
        OpName::Eq | OpName::Neq => {
            let operand = compile_operand(value, "value").ok_or_else(wrong_type)??;
            if name == OpName::Eq {
                Op::Eq(operand)
            } else {
                Op::Neq(operand)
            }
        }
        OpName::In | OpName::NotIn => {
            let Value::Array(items) = value else {
                return Err(wrong_type());
            };
            if items.is_empty() {
                return Err(ConditionError::EmptyList { op });
            }
            if items.len() > MAX_LIST_ITEMS {
                return Err(ConditionError::ListTooLong {
                    op,
                    items: items.len(),
                });
            }
            let operands = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    compile_operand(item, "an item of the list").ok_or_else(|| {
                        ConditionError::WrongItemType {
                            op,
                            position: index + 1,
                            found: json_type(item),
                        }
                    })?
                })
                .collect::<Result<Vec<_>, _>>()?;
            if name == OpName::In {
                Op::In(operands)
            } else {
                Op::NotIn(operands)
            }
        }
        OpName::Exists => {
            let Value::Bool(expected) = value else {
                return Err(wrong_type());
            };
            Op::Exists(*expected)
        }
        OpName::Matches => {
            let Value::String(pattern) = value else {
                return Err(wrong_type());
            };
            check_string_length(pattern, "value")?;
            Op::Matches(Glob::compile(pattern)?)
        }
        OpName::Regex => {
            let Value::String(pattern) = value else {
                return Err(wrong_type());
            };
            Op::Regex(compile_regex(pattern)?)
        }
    })
}

/// An operand of `eq`, `neq`, `in` or `not_in`; `None` when `value` is not a string, number or
/// boolean, an error when it is a string over the limit.
fn compile_operand(value: &Value, what: &'static str) -> Option<Result<Operand, ConditionError>> {
    Some(match value {
        Value::Number(number) => Ok(Operand::Number(Decimal::from_json_number(number))),
        Value::String(text) => {
            check_string_length(text, what).map(|()| Operand::String(text.clone()))
        }
        Value::Bool(flag) => Ok(Operand::Bool(*flag)),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    })
}

/// Compiles a `regex` pattern: at most 4,096 bytes, 1 MiB once compiled (policy.md §6.3.6).
fn compile_regex(pattern: &str) -> Result<Regex, ConditionError> {
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(ConditionError::RegexTooLong {
            bytes: pattern.len(),
        });
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => ConditionError::RegexTooLarge {
                pattern: shown(pattern),
            },
            other => ConditionError::InvalidRegex {
                pattern: shown(pattern),
                reason: regex_reason(&other.to_string()),
            },
        })
}

/// The one-line reason in a `regex` crate error. Its syntax errors span several lines (the
/// pattern, a caret under the fault, then `error: <reason>`); the reason is the last part.
fn regex_reason(message: &str) -> String {
    let reason = message
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(message);
    shown(reason.trim())
}

fn check_string_length(text: &str, what: &'static str) -> Result<(), ConditionError> {
    if text.len() > MAX_STRING_BYTES {
        return Err(ConditionError::StringTooLong {
            what,
            bytes: text.len(),
        });
    }
    Ok(())
}

fn check_display(text: &str) -> Result<(), ConditionError> {
    if text.is_empty() {
        return Err(ConditionError::EmptyDisplay);
    }
    if text.chars().any(is_line_break) {
        return Err(ConditionError::DisplayLineBreak);
    }
    let chars = text.chars().count();
    if chars > MAX_DISPLAY_CHARS {
        return Err(ConditionError::DisplayTooLong { chars });
    }
    Ok(())
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The JSON type of `value` as messages name it, in TOML's words since policies are TOML.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// Why a TOML operand has no JSON form.
enum TomlProblem {
    /// `nan`, `inf` or `-inf`.
    NotFinite(&'static str),
    /// A date-time, named as messages name it.
    Unsupported(&'static str),
}

fn toml_to_json(value: &toml::Value) -> Result<Value, TomlProblem> {
    Ok(match value {
        toml::Value::String(text) => Value::String(text.clone()),
        toml::Value::Integer(integer) => Value::Number(Number::from(*integer)),
        toml::Value::Float(float) => Value::Number(Number::from_f64(*float).ok_or_else(|| {
            TomlProblem::NotFinite(if float.is_nan() {
                "nan"
            } else if *float > 0.0 {
                "inf"
            } else {
                "-inf"
            })
        })?),
        toml::Value::Boolean(flag) => Value::Bool(*flag),
        toml::Value::Datetime(_) => return Err(TomlProblem::Unsupported("a date-time")),
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(key, item)| Ok((key.clone(), toml_to_json(item)?)))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Writes an operand as `rule_display` prints values (policy.md §12): strings as RFC 8785 JSON
/// strings, integers in decimal, floats in ECMAScript shortest form, booleans, arrays as
/// `[a, b]`.
pub(crate) fn write_display_value(out: &mut String, value: &Value) {
    match value {
        Value::Number(number) => {
            // Integers print every digit; canonical JSON would round those beyond 2^53.
            if let Some(unsigned) = number.as_u64() {
                let _ = write!(out, "{unsigned}");
            } else if let Some(signed) = number.as_i64() {
                let _ = write!(out, "{signed}");
            } else if let Some(float) = number.as_f64() {
                out.push_str(ryu_js::Buffer::new().format_finite(float));
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_display_value(out, item);
            }
            out.push(']');
        }
        Value::Null | Value::Bool(_) | Value::String(_) | Value::Object(_) => {
            out.push_str(&String::from_utf8_lossy(&crate::json::canonicalize(value)));
        }
    }
}

/// `text` with control characters and line separators escaped, so that an error message stays on
/// one line whatever the policy holds.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An action with metadata set and the given fields (a JSON object).
    fn action(fields: &Value) -> Action {
        Action {
            verb: "payment".to_owned(),
            tool_name: "iam_create_user".to_owned(),
            target_host: Some("api.example.com".to_owned()),
            workflow: "billing".to_owned(),
            account: "1000".to_owned(),
            fields: fields.as_object().unwrap().clone(),
        }
    }

    fn condition(field: &str, op: &str, value: Value) -> Condition {
        Condition::new(field, op, Some(value), None).unwrap()
    }

    fn holds(field: &str, op: &str, value: Value, fields: &Value) -> bool {
        condition(field, op, value).evaluate(&action(fields))
    }

    fn error(field: &str, op: &str, value: Option<Value>) -> String {
        Condition::new(field, op, value, None)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_operator_present_missing_and_mismatched() {
        // (op, value, present and true, present and false, type mismatch).
        let table: Vec<(&str, Value, Value, Value, Value)> = vec![
            ("gt", json!(10), json!(11), json!(10), json!("eleven")),
            ("lt", json!(10), json!(9), json!(10), json!(true)),
            ("gte", json!(10), json!(10), json!(9.5), json!(null)),
            ("lte", json!(10), json!("10.0"), json!(10.01), json!([1])),
            ("eq", json!("prod"), json!("prod"), json!("Prod"), json!(1)),
            ("eq", json!(1), json!(1.0), json!(2), json!(true)),
            ("eq", json!(true), json!(true), json!(false), json!("true")),
            (
                "in",
                json!(["usd", 3]),
                json!("usd"),
                json!("gbp"),
                json!({"a": 1}),
            ),
            (
                "in",
                json!([false, "x"]),
                json!(false),
                json!(true),
                json!(0),
            ),
            (
                "matches",
                json!("/tmp/*"),
                json!("/tmp/a"),
                json!("/var/a"),
                json!(5),
            ),
            (
                "regex",
                json!("^prod"),
                json!("production"),
                json!("preprod"),
                json!(7),
            ),
            ("exists", json!(true), json!(0), json!(0), json!(0)),
        ];
        for (op, value, yes, no, mismatch) in table {
            let name = format!("{op} {value}");
            assert!(
                holds("x", op, value.clone(), &json!({"x": yes})),
                "{name}: true case"
            );
            if op != "exists" {
                assert!(
                    !holds("x", op, value.clone(), &json!({"x": no})),
                    "{name}: false case"
                );
                assert!(
                    !holds("x", op, value.clone(), &json!({"x": mismatch})),
                    "{name}: mismatch"
                );
            }
            assert!(
                !holds("x", op, value.clone(), &json!({"y": yes})),
                "{name}: missing"
            );
        }
    }

    #[test]
    fn negated_operators_need_the_field_present() {
        // (op, value, field value, expected); each is false when the field is missing.
        let table: Vec<(&str, Value, Value, bool)> = vec![
            ("neq", json!("prod"), json!("dev"), true),
            ("neq", json!("prod"), json!("prod"), false),
            ("neq", json!("prod"), json!(1), true),
            ("neq", json!(5), json!("5"), false),
            ("not_in", json!(["a", "b"]), json!("c"), true),
            ("not_in", json!(["a", "b"]), json!("a"), false),
            ("not_in", json!([1, 2]), json!("2.0"), false),
            ("not_in", json!([1, 2]), json!({"x": 1}), true),
        ];
        for (op, value, field, expected) in table {
            assert_eq!(
                holds("x", op, value.clone(), &json!({"x": field})),
                expected,
                "{op} {value} on {field}"
            );
            assert!(
                !holds("x", op, value.clone(), &json!({})),
                "{op} {value} missing"
            );
        }
    }

    #[test]
    fn exists_true_and_false() {
        let present = json!({"x": null});
        assert!(holds("x", "exists", json!(true), &present));
        assert!(!holds("x", "exists", json!(false), &present));
        assert!(!holds("y", "exists", json!(true), &present));
        assert!(holds("y", "exists", json!(false), &present));
        let default = Condition::new("x", "exists", None, None).unwrap();
        assert!(matches!(default.op, Op::Exists(true)));
        assert!(default.evaluate(&action(&present)));
    }

    #[test]
    fn numbers_compare_exactly() {
        assert!(!holds("x", "gt", json!(1000.1), &json!({"x": "1000.10"})));
        assert!(holds("x", "eq", json!(1000.1), &json!({"x": "1000.10"})));
        let big = json!({"x": 9_007_199_254_740_993_u64});
        assert!(holds("x", "gt", json!(9_007_199_254_740_992_u64), &big));
        assert!(!holds("x", "eq", json!(9_007_199_254_740_992_u64), &big));
        assert!(holds(
            "x",
            "gt",
            json!(i64::MAX),
            &json!({"x": "9223372036854775808"})
        ));
        assert!(holds("x", "eq", json!(1500), &json!({"x": "1.5e3"})));
        assert!(holds("x", "gt", json!(1000), &json!({"x": "1E4"})));
        assert!(holds("x", "lt", json!(0), &json!({"x": "-1e-5"})));
        assert!(holds(
            "x",
            "gt",
            json!(1e300),
            &json!({"x": format!("1{}", "0".repeat(2000))})
        ));
        // Not the JSON number grammar: not numeric.
        for text in [
            " 5", "+5", "1_000", "0x10", "NaN", "Infinity", "05", "5.", "",
        ] {
            assert!(
                !holds("x", "gte", json!(0), &json!({"x": text})),
                "{text:?}"
            );
            assert!(!holds("x", "eq", json!(5), &json!({"x": text})), "{text:?}");
        }
        assert!(!holds("x", "gte", json!(0), &json!({"x": false})));
        assert!(!holds("x", "lte", json!(0), &json!({"x": null})));
        assert!(holds("x", "eq", json!(1000), &json!({"x": 1000.0})));
        assert!(holds("x", "eq", json!(-0.0), &json!({"x": 0})));
    }

    #[test]
    fn equality_follows_the_operand_type() {
        // A number operand accepts a numeric string field.
        assert!(holds("x", "eq", json!(1000), &json!({"x": "1000"})));
        // A string operand never converts a numeric field.
        assert!(!holds("x", "eq", json!("1000"), &json!({"x": 1000})));
        assert!(holds("x", "eq", json!("1000"), &json!({"x": "1000"})));
        assert!(!holds("x", "eq", json!("1000"), &json!({"x": "1000.0"})));
        // No normalization: composed and decomposed é differ.
        assert!(!holds(
            "x",
            "eq",
            json!("\u{e9}"),
            &json!({"x": "e\u{301}"})
        ));
        assert!(!holds("x", "eq", json!(true), &json!({"x": 1})));
        assert!(!holds("x", "eq", json!(1), &json!({"x": true})));
        assert!(!holds("x", "eq", json!("a"), &json!({"x": ["a"]})));
        assert!(!holds(
            "x",
            "in",
            json!(["a", 1, true]),
            &json!({"x": {"a": 1}})
        ));
        // null is present but equal to nothing.
        assert!(!holds("x", "eq", json!("null"), &json!({"x": null})));
        assert!(holds("x", "neq", json!("null"), &json!({"x": null})));
    }

    #[test]
    fn metadata_paths() {
        let fields = json!({"$tool_name": "shadow", "tool_name": "shadow"});
        let mut subject = action(&fields);
        let check = |field: &str, op: &str, value: Value, subject: &Action| {
            condition(field, op, value).evaluate(subject)
        };
        assert!(check("$tool_name", "matches", json!("iam_*"), &subject));
        assert!(check("$workflow", "eq", json!("billing"), &subject));
        assert!(check(
            "$target_host",
            "eq",
            json!("api.example.com"),
            &subject
        ));
        // A metadata string is numeric when it is a number's text.
        assert!(check("$account", "eq", json!(1000), &subject));
        assert!(check("$account", "gte", json!(999.5), &subject));
        assert!(check("$target_host", "exists", json!(true), &subject));
        subject.target_host = None;
        assert!(!check("$target_host", "exists", json!(true), &subject));
        assert!(check("$target_host", "exists", json!(false), &subject));
        assert!(!check("$target_host", "neq", json!("x"), &subject));
        assert!(!check("$target_host", "regex", json!(""), &subject));
        // `tool_name` without `$` is an ordinary field.
        assert!(!check("tool_name", "matches", json!("iam_*"), &subject));
    }

    #[test]
    fn nested_paths() {
        let fields = json!({
            "card": {"number": "4111", "meta": {"exp": 2030}},
            "list": [{"a": 1}],
            "text": "abc",
            "nothing": null,
            "a": {"$b": 1}
        });
        let subject = action(&fields);
        let resolved = |path: &str| FieldPath::parse(path).unwrap().resolve(&subject);
        assert_eq!(
            resolved("card.number"),
            Some(Resolved::Field(&json!("4111")))
        );
        assert_eq!(
            resolved("card.meta.exp"),
            Some(Resolved::Field(&json!(2030)))
        );
        assert_eq!(resolved("a.$b"), Some(Resolved::Field(&json!(1))));
        assert_eq!(resolved("nothing"), Some(Resolved::Field(&Value::Null)));
        // Arrays are not traversed; strings and null have no members.
        for path in [
            "list.0",
            "list.0.a",
            "text.length",
            "nothing.x",
            "card.nope",
            "nope",
        ] {
            assert_eq!(resolved(path), None, "{path}");
        }
        assert_eq!(
            FieldPath::parse("$workflow").unwrap().resolve(&subject),
            Some(Resolved::Metadata("billing"))
        );
        assert_eq!(
            FieldPath::parse("card.number").unwrap().as_str(),
            "card.number"
        );
        assert_eq!(
            FieldPath::parse("$account").unwrap().metadata(),
            Some(Metadata::Account)
        );
    }

    #[test]
    fn invalid_paths() {
        assert_eq!(
            FieldPath::parse("a..b").unwrap_err().to_string(),
            "field path `a..b` has an empty segment; separate field names with single dots"
        );
        for path in [".a", "a.", "."] {
            assert!(matches!(
                FieldPath::parse(path),
                Err(ConditionError::EmptySegment { .. })
            ));
        }
        assert_eq!(FieldPath::parse(""), Err(ConditionError::EmptyPath));
        assert_eq!(
            FieldPath::parse("$tool").unwrap_err().to_string(),
            "unknown metadata field `$tool`; expected one of $tool_name, $target_host, $workflow, $account"
        );
        for path in ["$tool_name.x", "$", "$Account"] {
            assert!(matches!(
                FieldPath::parse(path),
                Err(ConditionError::UnknownMetadata { .. })
            ));
        }
        assert!(matches!(
            FieldPath::parse(&"a".repeat(MAX_STRING_BYTES + 1)),
            Err(ConditionError::StringTooLong { .. })
        ));
    }

    #[test]
    fn glob_rows_through_matches() {
        let rows: [(&str, &[&str], &[&str]); 6] = [
            (
                "/tmp/*",
                &["/tmp/a.txt"],
                &["/tmp/a/b.txt", "/tmp", "/tmpx/a"],
            ),
            ("/tmp/**", &["/tmp/a", "/tmp/a/b"], &["/tmp"]),
            ("**/*.csv", &["a.csv", "x/y/a.csv"], &["a.csv.gz"]),
            ("report-????.pdf", &["report-2026.pdf"], &["report-26.pdf"]),
            (
                "*@example.com",
                &["ana@example.com"],
                &["ana@example.com.evil.net"],
            ),
            ("tmp", &["tmp"], &["a/tmp/b", "tmpfile"]),
        ];
        for (pattern, yes, no) in rows {
            for text in yes {
                assert!(
                    holds("p", "matches", json!(pattern), &json!({"p": text})),
                    "{pattern} {text}"
                );
            }
            for text in no {
                assert!(
                    !holds("p", "matches", json!(pattern), &json!({"p": text})),
                    "{pattern} {text}"
                );
            }
        }
    }

    #[test]
    fn regex_is_unanchored_unless_anchored() {
        let fields = |text: &str| json!({"env": text});
        assert!(holds("env", "regex", json!("prod"), &fields("preprod-1")));
        assert!(!holds("env", "regex", json!("^prod$"), &fields("preprod")));
        assert!(holds("env", "regex", json!("^prod$"), &fields("prod")));
        assert!(!holds("env", "regex", json!("prod"), &fields("PROD")));
        assert!(holds("env", "regex", json!("(?i)prod"), &fields("PROD")));
        assert!(holds("env", "regex", json!("^\\w+$"), &fields("café")));
    }

    #[test]
    fn regex_errors() {
        assert_eq!(
            error("x", "regex", Some(json!("a(b"))),
            "`a(b` is not a valid regex: unclosed group"
        );
        assert_eq!(
            error("x", "regex", Some(json!("a".repeat(4097)))),
            "regex pattern is 4097 bytes long; the limit is 4,096 bytes"
        );
        assert!(Condition::new("x", "regex", Some(json!("a".repeat(4096))), None).is_ok());
        // Small to write, far over 1 MiB compiled.
        let message = error("x", "regex", Some(json!("\\w{1000}\\w{1000}")));
        assert!(message.ends_with("is too large once compiled (over 1 MiB); use a simpler regex, for example with fewer or smaller repetitions"), "{message}");
        for message in [
            error("x", "regex", Some(json!("(?<n"))),
            error("x", "regex", Some(json!("\\p{Nope}"))),
        ] {
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn narrowing() {
        let table: [(&str, Option<Value>, bool); 12] = [
            ("exists", None, false),
            ("exists", Some(json!(false)), false),
            ("matches", Some(json!("**")), false),
            ("matches", Some(json!("*")), false),
            ("matches", Some(json!("*/?")), false),
            ("regex", Some(json!(".*")), false),
            ("regex", Some(json!("a*")), false),
            ("regex", Some(json!("^")), false),
            ("lte", Some(json!(50)), true),
            ("matches", Some(json!("/tmp/*")), true),
            ("regex", Some(json!("^prod$")), true),
            ("neq", Some(json!("x")), true),
        ];
        for (op, value, expected) in table {
            let name = format!("{op} {value:?}");
            let condition = Condition::new("amount", op, value, None).unwrap();
            assert_eq!(condition.is_narrowing(), expected, "{name}");
        }
    }

    #[test]
    fn matched_json_records_the_operand() {
        assert_eq!(
            Condition::new("x", "exists", None, Some("x is set".to_owned()))
                .unwrap()
                .matched_json(),
            json!({"field": "x", "op": "exists", "value": true})
        );
        assert_eq!(
            condition("x", "exists", json!(false)).matched_json(),
            json!({"field": "x", "op": "exists", "value": false})
        );
        assert_eq!(
            condition("currency", "in", json!(["usd", 1, 2.5])).matched_json(),
            json!({"field": "currency", "op": "in", "value": ["usd", 1, 2.5]})
        );
    }

    #[test]
    fn display_text_per_operator() {
        let table: Vec<(&str, &str, Option<Value>, &str)> = vec![
            ("amount", "gt", Some(json!(1000)), "amount > 1000"),
            ("amount", "lt", Some(json!(1000.5)), "amount < 1000.5"),
            ("amount", "gte", Some(json!(1e21)), "amount >= 1e+21"),
            ("rows", "lte", Some(json!(100)), "rows <= 100"),
            ("amount", "gt", Some(json!(1000.0)), "amount > 1000"),
            (
                "big",
                "eq",
                Some(json!(9_007_199_254_740_993_u64)),
                "big == 9007199254740993",
            ),
            ("env", "eq", Some(json!("prod")), "env == \"prod\""),
            ("flag", "neq", Some(json!(true)), "flag != true"),
            (
                "currency",
                "in",
                Some(json!(["usd", "eur"])),
                "currency in [\"usd\", \"eur\"]",
            ),
            (
                "n",
                "not_in",
                Some(json!([1, false, "a\"b"])),
                "n not in [1, false, \"a\\\"b\"]",
            ),
            ("x", "exists", None, "x exists"),
            ("x", "exists", Some(json!(false)), "x is absent"),
            (
                "$tool_name",
                "matches",
                Some(json!("iam_*")),
                "$tool_name matches \"iam_*\"",
            ),
            (
                "env",
                "regex",
                Some(json!("^prod\\d$")),
                "env matches regex \"^prod\\\\d$\"",
            ),
            ("s", "eq", Some(json!("é\u{1}")), "s == \"é\\u0001\""),
        ];
        for (field, op, value, expected) in table {
            let condition = Condition::new(field, op, value, None).unwrap();
            assert_eq!(condition.display_text(), expected);
        }
        let written = Condition::new(
            "amount",
            "lte",
            Some(json!(50)),
            Some("amount is at most 50".to_owned()),
        )
        .unwrap();
        assert_eq!(written.display_text(), "amount is at most 50");
    }

    #[test]
    fn operand_type_errors() {
        assert_eq!(
            error("x", "contains", Some(json!("a"))),
            "unknown operator `contains`; expected one of gt, lt, gte, lte, eq, neq, in, not_in, exists, matches, regex"
        );
        assert_eq!(
            error("x", "gt", Some(json!("1000"))),
            "`value` of `gt` must be an integer or a finite float, found a string"
        );
        assert_eq!(
            error("x", "gt", None),
            "operator `gt` needs a `value`; write an integer or a finite float"
        );
        assert_eq!(
            error("x", "eq", Some(json!([1]))),
            "`value` of `eq` must be a string, an integer, a float or a boolean, found an array"
        );
        assert_eq!(
            error("x", "in", Some(json!("usd"))),
            "`value` of `in` must be a non-empty array of strings, integers, floats and booleans, found a string"
        );
        assert_eq!(
            error("x", "not_in", Some(json!([]))),
            "`value` of `not_in` is an empty array; list at least one value"
        );
        assert_eq!(
            error("x", "in", Some(json!(["a", ["b"]]))),
            "item 2 of `in` must be a string, an integer, a float or a boolean, found an array"
        );
        assert_eq!(
            error("x", "in", Some(Value::Array(vec![json!(1); 10_001]))),
            "`value` of `in` has 10001 items; the limit is 10,000"
        );
        assert!(
            Condition::new("x", "in", Some(Value::Array(vec![json!(1); 10_000])), None).is_ok()
        );
        assert_eq!(
            error("x", "exists", Some(json!("yes"))),
            "`value` of `exists` must be a boolean, found a string"
        );
        assert_eq!(
            error("x", "matches", Some(json!(1.5))),
            "`value` of `matches` must be a string (a glob), found a float"
        );
        assert_eq!(
            error("x", "matches", Some(json!("a{b"))),
            "`a{b` is not a valid glob: `{` is reserved; write `\\{` to match it literally"
        );
        assert_eq!(
            error("x", "eq", Some(json!("a".repeat(MAX_STRING_BYTES + 1)))),
            "value is 65537 bytes long; the limit is 65,536 bytes (64 KiB)"
        );
        assert!(matches!(
            Condition::new(
                "x",
                "in",
                Some(json!(["a".repeat(MAX_STRING_BYTES + 1)])),
                None
            ),
            Err(ConditionError::StringTooLong { .. })
        ));
        assert!(Condition::new("x", "eq", Some(json!("a".repeat(MAX_STRING_BYTES))), None).is_ok());
    }

    #[test]
    fn display_checks() {
        let with_display = |text: &str| Condition::new("x", "exists", None, Some(text.to_owned()));
        assert!(with_display(&"é".repeat(200)).is_ok());
        assert_eq!(
            with_display(&"é".repeat(201)).unwrap_err().to_string(),
            "`display` is 201 characters long; the limit is 200"
        );
        assert_eq!(with_display("").unwrap_err(), ConditionError::EmptyDisplay);
        for text in ["a\nb", "a\rb", "a\u{2028}b", "a\u{85}b"] {
            assert_eq!(
                with_display(text).unwrap_err().to_string(),
                "`display` contains a line break; write it on one line"
            );
        }
    }

    #[test]
    fn from_toml_converts_and_refuses_non_finite() {
        let parsed: toml::Table = toml::from_str(
            "a = 1000\nb = 1000.5\nc = [\"usd\", 2, true]\nd = nan\ne = -inf\nf = 1979-05-27",
        )
        .unwrap();
        let built = Condition::from_toml("x", "gt", parsed.get("a"), None).unwrap();
        assert_eq!(built.value, Some(json!(1000)));
        assert_eq!(built.display_text(), "x > 1000");
        let float = Condition::from_toml("x", "lt", parsed.get("b"), None).unwrap();
        assert!(float.evaluate(&action(&json!({"x": "1000.49"}))));
        let list = Condition::from_toml("x", "in", parsed.get("c"), None).unwrap();
        assert!(list.evaluate(&action(&json!({"x": "2"}))));
        assert_eq!(
            Condition::from_toml("x", "gt", parsed.get("d"), None)
                .unwrap_err()
                .to_string(),
            "`value` must be a finite number, found `nan`"
        );
        assert_eq!(
            Condition::from_toml("x", "gt", parsed.get("e"), None).unwrap_err(),
            ConditionError::NotFinite { found: "-inf" }
        );
        assert_eq!(
            Condition::from_toml("x", "eq", parsed.get("f"), None)
                .unwrap_err()
                .to_string(),
            "`value` of `eq` must be a string, an integer, a float or a boolean, found a date-time"
        );
    }
}
