package core

// Service-account key creation blocked by an organization policy. Google
// Cloud organizations created since 2024 enforce
// iam.disableServiceAccountKeyCreation (and its managed form
// iam.managed.disableServiceAccountKeyCreation) by default, so an
// administrator following "Keys > Add key" finds it greyed out or refused.
// One text, used by the wizard's credentials step, `key inspect --help` and
// the README.

// Names of the two organization policy constraints that block key creation.
const (
	KeyCreationPolicy        = "iam.disableServiceAccountKeyCreation"
	KeyCreationPolicyManaged = "iam.managed.disableServiceAccountKeyCreation"
)

// KeyPolicyHint is the one line that says how to recognise the block.
const KeyPolicyHint = "\"Add key\" greyed out, or refused with a policy message? An organization policy blocks service-account keys."

// KeyPolicyHelp is the whole text: how to recognise the block, the exact
// fix, and that the OAuth client path needs no key.
var KeyPolicyHelp = []string{
	"Recognise it: in " + serviceAccountsSection + " > (the account) > Keys, \"Add key\" is greyed out or refused with a message naming " + KeyCreationPolicy + " or " + KeyCreationPolicyManaged + " (enforced by default in organizations created since 2024).",
	"Fix: an Organization Policy Administrator opens " + iamConsolePath + " > Organization Policies with this project selected (ideally overriding it only for the project), opens the policy, chooses Manage policy > Override parent's policy > Enforcement Off (Not enforced) > Set policy, then creates the key: Keys > Add key > Create new key > JSON.",
	"Or choose the OAuth client path (step 3's other choice, or `mailoauth setup --client FILE`): it needs no key; each mailbox owner consents once.",
}
