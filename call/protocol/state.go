package protocol

// CallState is the client-side call state of NeCallKit (CallingStatus).
type CallState int

const (
	StateIdle    CallState = 0 // no call
	StateCalling CallState = 1 // ringing out
	StateCalled  CallState = 2 // ringing in
	StateInCall  CallState = 3 // connected
)

func (s CallState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateCalling:
		return "calling"
	case StateCalled:
		return "called"
	case StateInCall:
		return "inCall"
	}
	return "unknown"
}

// Op is an engine operation checked against the state table.
type Op int

const (
	OpCall Op = iota
	OpHangup
	OpLeave
	OpCancel
	OpAccept
	OpReject
	OpSwitchCallType
)

func (o Op) String() string {
	return [...]string{"call", "hangup", "leave", "cancel", "accept", "reject", "switchCallType"}[o]
}

// stateTable holds NeCallKit's error codes for an operation that is illegal
// in a state; 0 means the operation is allowed. Rows follow Op, columns
// CallState (idle, calling, called, inCall).
var stateTable = [...][4]Code{
	OpCall:           {0, 20002, 20003, 20004},
	OpHangup:         {20005, 0, 0, 0}, // in calling = cancel, in called = reject
	OpLeave:          {20009, 20010, 20011, 0},
	OpCancel:         {20013, 0, 20015, 20016},
	OpAccept:         {20017, 20018, 0, 20020},
	OpReject:         {20021, 20022, 0, 20024},
	OpSwitchCallType: {20025, 20026, 20027, 0},
}

// CheckState returns nil when op is legal in s, or the kit's *Error.
func CheckState(op Op, s CallState) error {
	if op < 0 || int(op) >= len(stateTable) || s < 0 || s > StateInCall {
		return Errorf(CodeBadRequest, "unknown operation or state")
	}
	if c := stateTable[op][s]; c != 0 {
		return Errorf(c, "%s is not allowed while %s", op, s)
	}
	return nil
}
