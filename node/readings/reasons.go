package readings

// Reason says why a reading waits for review, in English and Simplified
// Chinese, as care.Problem does for a patient body. Neither sentence quotes
// an identifier: reasons end up in logs and on shared screens.
type Reason struct {
	Code string `json:"code"`
	En   string `json:"en"`
	Zh   string `json:"zh"`
}

// Why a reading went to the review queue instead of to a patient. The
// codes are stored with the reading; never rename them.
const (
	ReasonNoBinding           = "no-binding"
	reasonNoIdentifier        = "no-identifier" // only an intermediate of bind, never stored
	ReasonUnknownIdentifier   = "unknown-identifier"
	ReasonAmbiguousIdentifier = "ambiguous-identifier"
	ReasonLocked              = "locked"
	ReasonTwoSessions         = "two-sessions"
	ReasonSessionDisagrees    = "session-disagrees"
	ReasonConflict            = "conflicting-decisions"
)

var reasons = map[string]Reason{
	ReasonNoBinding: {ReasonNoBinding,
		"The message names no patient and no measure-now session was open for this device.",
		"消息中没有患者标识，该设备也没有正在进行的测量会话。"},
	ReasonUnknownIdentifier: {ReasonUnknownIdentifier,
		"The patient identifier in the message matches no patient on this node.",
		"消息中的患者标识与本机任何患者都不匹配。"},
	ReasonAmbiguousIdentifier: {ReasonAmbiguousIdentifier,
		"The patient identifiers in the message match more than one patient.",
		"消息中的患者标识匹配到多名患者。"},
	ReasonLocked: {ReasonLocked,
		"The node was locked when the reading arrived, so the patient identifier could not be checked.",
		"读数到达时本机处于锁定状态，无法核对患者标识。"},
	ReasonTwoSessions: {ReasonTwoSessions,
		"Two measure-now sessions bound this device to different patients at that moment.",
		"该时刻有两个测量会话将此设备绑定到不同患者。"},
	ReasonSessionDisagrees: {ReasonSessionDisagrees,
		"The patient identifier in the message and the measure-now session name different patients.",
		"消息中的患者标识与测量会话中的患者不一致。"},
	ReasonConflict: {ReasonConflict,
		"Two staff members decided differently about this reading at the same time; decide again.",
		"两名工作人员同时对该读数作出了不同处理，请重新处理。"},
}

// ReasonFor returns the reason of a code; an unknown code (from a newer
// node) is shown as itself.
func ReasonFor(code string) Reason {
	if r, ok := reasons[code]; ok {
		return r
	}
	return Reason{Code: code, En: code, Zh: code}
}
