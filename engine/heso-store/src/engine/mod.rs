//! The agent's engine handle (sdk.md §1, §2.5, §5): the operator key decrypted once, the policy
//! file watched for edits, the store open — and the two calls a gated action makes: one
//! [`Engine::gate`] before the body, one [`Engine::record_result`] after it.
//!
//! `Send + Sync`: one handle serves every thread of the process. Each call is one store
//! transaction; the store serializes writers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use heso_core::identity::{Identity, PublicKey};
use heso_core::policy::condition::Action;
use heso_core::policy::eval::{evaluate, Evaluation};
use heso_core::policy::load::LoadedPolicy;
use heso_core::policy::model::Decision;
use heso_core::receipt::gate::{
    action_member, gate_content, policy_error_evaluation, result_content, CodeRedaction,
    GateContent, ResultBinding,
};
use heso_core::receipt::redaction::RedactMode;
use serde_json::{Map, Value};

use crate::operator_key::{open_operator_key, OpenKeyError, OpenedOperatorKey};
use crate::policy_file::{PolicyFile, PolicyFileError};
use crate::store::{
    AppendRequest, Appended, GateOutcome, GateRequest, RequestTerms, SessionType, Signing, Store,
    StoreError, StoreOptions,
};

/// The policy file's name in the project root.
const POLICY_FILE: &str = "heso.toml";

/// Where the engine finds the project and how it opens the store.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The project root (holds `heso.toml`).
    pub project_root: PathBuf,
    /// The data directory (holds the operator key and `heso.db`).
    pub data_dir: PathBuf,
    /// How the store is opened.
    pub store: StoreOptions,
}

/// Why the engine cannot open. Each message is one line naming the fix.
#[derive(Debug, thiserror::Error)]
pub enum EngineOpenError {
    /// The environment has a bad value.
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
    /// The operator key does not open (`ConfigError` in the SDK).
    #[error(transparent)]
    Key(#[from] OpenKeyError),
    /// The store does not open (`EngineError` in the SDK).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One action to gate, with the redaction asked for in code (sdk.md §4.4).
#[derive(Debug)]
pub struct GateCall<'a> {
    /// The action as captured; `fields` un-redacted.
    pub action: Action,
    /// The decorator's and the enclosing steps' paths.
    pub redact: &'a [String],
    /// `destructive` when any source in code asked for it.
    pub mode: RedactMode,
    /// `false` in observe-only mode: approval requests are neither opened nor consumed.
    pub enforce: bool,
}

/// What the gate did for one call.
#[derive(Debug, Clone)]
pub enum Gate {
    /// A receipt of the policy's decision was recorded: `allow`, `redact` and `block`, and
    /// `require_approval` in observe-only mode (the pending shape, no request).
    Decided {
        /// The evaluation.
        evaluation: Evaluation,
        /// The gate receipt.
        receipt: Appended,
    },
    /// `require_approval` in enforce mode: what the approval gate did (storage.md §10.3).
    Approval {
        /// The evaluation.
        evaluation: Evaluation,
        /// The approval gate's outcome.
        outcome: Box<GateOutcome>,
    },
    /// `heso.toml` does not load: a `policy.error` block receipt was recorded (policy.md §9).
    PolicyBroken {
        /// Why the file does not load.
        error: PolicyFileError,
        /// The block receipt.
        receipt: Appended,
    },
}

/// The result of [`Engine::gate`].
#[derive(Debug, Clone)]
pub struct Gated {
    /// What happened.
    pub gate: Gate,
    /// Whether a field of the recorded action is redacted.
    pub redacted: bool,
    /// The action session (the workflow).
    pub session_id: String,
    /// The content a result receipt copies, when the body may run after this gate: the gate
    /// receipt's, or for a consumed approval the request's base content.
    base: Option<Map<String, Value>>,
}

impl Gated {
    /// Whether the policy's outcome lets the body run in enforce mode: a receipt of `allow` or
    /// `redact`, or an approval this call consumed.
    pub fn allows(&self) -> bool {
        match &self.gate {
            Gate::Decided { evaluation, .. } => {
                matches!(evaluation.decision, Decision::Allow | Decision::Redact)
            }
            Gate::Approval { outcome, .. } => matches!(**outcome, GateOutcome::Approved { .. }),
            Gate::PolicyBroken { .. } => false,
        }
    }

    /// The receipt recorded for this attempt, if one was (a retry of a pending request records
    /// none).
    pub fn receipt(&self) -> Option<&Appended> {
        match &self.gate {
            Gate::Decided { receipt, .. } | Gate::PolicyBroken { receipt, .. } => Some(receipt),
            Gate::Approval { outcome, .. } => match &**outcome {
                GateOutcome::Opened {
                    pending_receipt, ..
                } => Some(pending_receipt),
                GateOutcome::Expired { block_receipt, .. }
                | GateOutcome::Rejected { block_receipt, .. } => Some(block_receipt),
                GateOutcome::Approved {
                    approval_receipt, ..
                } => Some(approval_receipt),
                GateOutcome::Pending { .. } | GateOutcome::Revoked { .. } => None,
            },
        }
    }

    /// The content a result receipt copies; `None` when the body must not run.
    pub fn result_base(&self) -> Option<&Map<String, Value>> {
        self.base.as_ref()
    }
}

/// The engine handle.
pub struct Engine {
    operator: Identity,
    key: OpenedOperatorKey,
    policy: PolicyFile,
    store: Store,
    host: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("operator", &self.operator.public_key().fingerprint())
            .field("policy", &self.policy.path())
            .field("store", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the operator key under the custody rules (reading the `HESO_*` passphrase
    /// variables), then the store. The policy file is read at the first gate, and again whenever
    /// it changes. Paths in messages are relative to the project root.
    pub fn open(options: EngineOptions) -> Result<Self, EngineOpenError> {
        Self::open_with_env(options, &crate::env::EngineEnv::from_process()?)
    }

    /// [`Engine::open`] with the environment given.
    pub fn open_with_env(
        options: EngineOptions,
        env: &crate::env::EngineEnv,
    ) -> Result<Self, EngineOpenError> {
        let root = options.project_root.clone();
        let shown = |path: &Path| match path.strip_prefix(&root) {
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        };
        let key = open_operator_key(&options.data_dir, env, &shown)?;
        let operator = Identity::from_seed(&key.key.seed);
        let mut store_options = options.store;
        store_options.operator_public_key = Some(operator.public_key().to_base64());
        let store = Store::open(&options.data_dir, store_options)?;
        Ok(Self {
            operator,
            key,
            policy: PolicyFile::new(options.project_root.join(POLICY_FILE)),
            store,
            host: host_name(),
        })
    }

    /// The operator key as opened (public half, format, passphrase source, custody).
    pub fn operator_key(&self) -> &OpenedOperatorKey {
        &self.key
    }

    /// The operator's public key.
    pub fn public_key(&self) -> PublicKey {
        self.operator.public_key()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The watched policy file.
    pub fn policy_file(&self) -> &PolicyFile {
        &self.policy
    }

    /// Decides one action and records the decision before the body may run (sdk.md §5.1):
    /// evaluation, redaction, the recording cap, signing and the append, in one transaction.
    pub fn gate(&self, call: &GateCall<'_>) -> Result<Gated, StoreError> {
        let policy = match self.policy.current() {
            Ok(policy) => policy,
            Err(error) => {
                let (receipt, gated) = self.record(call, &policy_error_evaluation())?;
                return Ok(gated(Gate::PolicyBroken { error, receipt }));
            }
        };
        let evaluation = evaluate(&policy.policy, &call.action);
        if evaluation.decision == Decision::RequireApproval && call.enforce {
            return self.gate_approval(call, &policy, evaluation);
        }
        let (receipt, gated) = self.record(call, &evaluation)?;
        Ok(gated(Gate::Decided {
            evaluation,
            receipt,
        }))
    }

    /// Appends the gate receipt of `evaluation` in the workflow's action session; returns it with
    /// a function completing the [`Gated`] (whose result receipt copies this content).
    fn record(
        &self,
        call: &GateCall<'_>,
        evaluation: &Evaluation,
    ) -> Result<(Appended, impl FnOnce(Gate) -> Gated), StoreError> {
        let content = Self::content(call, evaluation)?;
        let redacted = content.redacted();
        let session_id = call.action.workflow.clone();
        let request = AppendRequest::chained(
            session_id.clone(),
            SessionType::Action,
            content.content,
            Signing::Operator(&self.operator),
        )
        .with_reveals(content.reveals);
        let receipt = self.store.append(&request)?;
        let base = request.content;
        Ok((receipt, move |gate| Gated {
            gate,
            redacted,
            session_id,
            base: Some(base),
        }))
    }

    /// Appends the result receipt after a body ran (receipts.md §15.5): `base` is
    /// [`Gated::result_base`] of its gate.
    pub fn record_result(
        &self,
        session_id: &str,
        base: &Map<String, Value>,
        binding: &ResultBinding,
    ) -> Result<Appended, StoreError> {
        let content = result_content(base, binding).ok_or_else(|| {
            StoreError::Request("the gate's content has no `action` to bind a result to".into())
        })?;
        self.store.append(&AppendRequest::chained(
            session_id,
            SessionType::Action,
            content,
            Signing::Operator(&self.operator),
        ))
    }

    fn content(call: &GateCall<'_>, evaluation: &Evaluation) -> Result<GateContent, StoreError> {
        let mut salt_error = None;
        let mut salt_for = || {
            let mut salt = [0u8; 32];
            if let Err(error) = getrandom::fill(&mut salt) {
                salt_error = Some(error);
            }
            salt
        };
        let content = gate_content(
            &call.action,
            evaluation,
            CodeRedaction {
                paths: call.redact,
                mode: call.mode,
            },
            &mut salt_for,
        );
        match salt_error {
            // Never commit a field under a predictable salt.
            Some(error) => Err(StoreError::Request(format!(
                "the operating system gave no randomness for a redaction salt: {error}"
            ))),
            None => Ok(content),
        }
    }

    fn gate_approval(
        &self,
        call: &GateCall<'_>,
        policy: &Arc<LoadedPolicy>,
        evaluation: Evaluation,
    ) -> Result<Gated, StoreError> {
        let content = Self::content(call, &evaluation)?;
        let redacted = content.redacted();
        let session_id = call.action.workflow.clone();
        let terms = evaluation.approval.as_ref().ok_or_else(|| {
            StoreError::Request("a require_approval evaluation carries approval terms".into())
        })?;
        let captured = action_member(&call.action);
        let registered = |rule_id: &str| -> Vec<String> {
            policy
                .policy
                .registered_keys(rule_id)
                .iter()
                .map(PublicKey::to_base64)
                .collect()
        };
        let outcome = self.store.gate_approval(&GateRequest {
            action: &captured,
            pending: AppendRequest::chained(
                session_id.clone(),
                SessionType::Action,
                content.content,
                Signing::Operator(&self.operator),
            )
            .with_reveals(content.reveals),
            terms: RequestTerms {
                rule_id: evaluation.rule_id.clone(),
                roster: terms.roster.iter().map(PublicKey::to_base64).collect(),
                threshold: terms.quorum,
                sla_minutes: terms.sla_minutes,
            },
            registered: &registered,
            consumer: format!("{}@{}", std::process::id(), self.host),
        })?;
        let base = match &outcome {
            GateOutcome::Approved { request, .. } => Some(request.base_content.clone()),
            _ => None,
        };
        Ok(Gated {
            gate: Gate::Approval {
                evaluation,
                outcome: Box::new(outcome),
            },
            redacted,
            session_id,
            base,
        })
    }
}

/// This machine's name for `consumed_by` (`<pid>@<host>`); informational only.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests;
