package call

import (
	"fmt"
	"strings"
	"time"

	"github.com/softphone/softphone/call/protocol"
)

// Record directions as seen by the local account.
const (
	DirectionOutgoing = "outgoing" // the local account placed the call
	DirectionIncoming = "incoming" // the local account was called
)

// RecordMessage is a call record (MESSAGE_SENT data and Records results)
// with the text the local side shows for it. It marshals flat:
// {"type","channelId","status","from","to","durations",...,"text","direction"}.
type RecordMessage struct {
	protocol.Record
	Text      string `json:"text"`
	Direction string `json:"direction"`
}

// statusTexts is the seed's statusMap (beforeCall page) with an English
// column. Index: status; [0] caller's text, [1] callee's text.
var statusTexts = map[string]map[int][2]string{
	"zh": {
		protocol.StatusCompleted: {"已完成", "已完成"},
		protocol.StatusCanceled:  {"已取消", "对方已取消"},
		protocol.StatusRejected:  {"对方已拒绝", "已拒绝"},
		protocol.StatusTimeout:   {"未接听", "未接听"},
		protocol.StatusBusy:      {"对方忙线", "未接听"},
	},
	"en": {
		protocol.StatusCompleted: {"Completed", "Completed"},
		protocol.StatusCanceled:  {"Canceled", "Canceled by caller"},
		protocol.StatusRejected:  {"Rejected by callee", "Rejected"},
		protocol.StatusTimeout:   {"No answer", "Missed"},
		protocol.StatusBusy:      {"Callee busy", "Missed"},
	},
}

// normLanguage maps a configured language to a statusTexts key; zh is the
// default, as in the seed.
func normLanguage(lang string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "en") {
		return "en"
	}
	return "zh"
}

// StatusText returns the text the caller (callee false) or the callee shows
// for a record status, in lang ("zh", the default, or "en"). Unknown statuses
// yield "".
func StatusText(status int, callee bool, lang string) string {
	t, ok := statusTexts[normLanguage(lang)][status]
	if !ok {
		return ""
	}
	if callee {
		return t[1]
	}
	return t[0]
}

// newRecordMessage decorates r for the local account self.
func newRecordMessage(r protocol.Record, self, lang string) RecordMessage {
	// The seed decides the side with `to === myAccount`; a call to oneself
	// counts as outgoing.
	callee := r.To == self && r.From != self
	dir := DirectionOutgoing
	if callee {
		dir = DirectionIncoming
	}
	return RecordMessage{Record: r, Text: StatusText(r.Status, callee, lang), Direction: dir}
}

// Length is how long the call was connected: the longest of the parties'
// durations, 0 for a call that never connected.
func (r RecordMessage) Length() time.Duration {
	var secs int64
	for _, d := range r.Durations {
		secs = max(secs, d.Duration)
	}
	return time.Duration(secs) * time.Second
}

// ClockText is a call length as every view shows it (TUI, records,
// headless lines): mm:ss, and h:mm:ss from an hour on.
func ClockText(d time.Duration) string {
	s := max(int64(d/time.Second), 0)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
