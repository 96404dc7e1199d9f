package ui

import (
	"strings"

	"github.com/softphone/softphone/call/protocol"
)

// text holds every string the UI shows, one value per language. Call
// outcomes and record statuses come from call.StatusText so they match the
// seed (and headless output) exactly.
type text struct {
	lang string

	appName      string
	tabContacts  string
	tabHistory   string
	connected    string
	reconnecting string // %s: error
	disconnected string // %s: error (engine gave up)
	reconnected  string

	// contacts
	presenceOnline  string
	presenceInCall  string
	presenceOffline string
	noContacts      string
	noMatch         string
	filterPrompt    string
	addPrompt       string
	addPlaceholder  string
	removeConfirm   string // %s: contact
	contactAdded    string // %s
	contactRemoved  string // %s
	unknownAccount  string // %s

	// history
	noRecords     string
	typeAudio     string
	typeVideo     string
	callAudio     string
	callVideo     string
	dirOutgoing   string
	dirIncoming   string
	historyHeader [5]string // peer, type, time, duration, status

	// incoming invite
	incomingTitle     string
	attachment        string
	expiresIn         string // %d seconds
	inviteOffline     string
	answeredElsewhere string
	rejectedElsewhere string
	accept            string
	reject            string

	// calling / outcome
	calling      string // %s peer
	waiting      string // %d seconds
	calleeOff    string
	cancelHint   string
	dismissHint  string
	callFailed   string // %s error
	alreadyBusy  string
	noSuchPeer   string // %s
	ended        string // %s duration
	endedPeer    string
	callEndedFmt string // %s peer, %s status, %s duration

	// in call
	inCallWith   string // %s peer
	duration     string
	micOn        string
	micOff       string
	camOn        string
	camOff       string
	peerMuted    string
	peerCamOff   string
	noVideo      string
	localPreview string
	levelMic     string
	levelSpeaker string
	statsTitle   string
	statBitrate  string
	statLoss     string
	statJitter   string
	statRTT      string
	statMOS      string
	statVideo    string
	viaRelay     string
	quality      string
	qualityNames [6]string // unknown, excellent, good, fair, poor, bad
	switchAsk    string    // peer asks to switch to video
	switchWait   string
	switchNo     string
	mediaWarn    string // %s kind, %s error
	noMedia      string // %s cause: no media arrived from the peer
	peerNoMedia  string // %s cause: the peer reports it gets no media
	camSwitched  string // SwitchCamera moved to the next camera
	camNoSwitch  string // … found none to move to

	// event log
	logTitle string
	logEmpty string

	// quit
	quitConfirm string

	// login
	loginTitle  string
	loginServer string
	loginAcct   string
	loginToken  string
	loginHint   string
	loginBusy   string
	loginFailed string // %s

	// key help
	kUpDown, kFilter, kAudio, kVideo, kEnter, kAccept, kReject, kCancel string
	kHangup, kMute, kCamera, kSwitchCam, kSwitch, kLog, kTab, kQuit     string
	kHelp                                                               string
	kAdd, kRemove, kDismiss, kRedial, kNext, kSubmit, kEsc              string
	kYes, kNo, kAgree                                                   string
}

var zhText = text{
	lang:         "zh",
	appName:      "softphone",
	tabContacts:  "联系人",
	tabHistory:   "通话记录",
	connected:    "已连接",
	reconnecting: "与服务器的连接已断开，正在重连…（%s）",
	disconnected: "已断开：%s",
	reconnected:  "已重新连接服务器",

	presenceOnline:  "在线",
	presenceInCall:  "通话中",
	presenceOffline: "离线",
	noContacts:      "还没有联系人，按 + 添加",
	noMatch:         "没有匹配的联系人",
	filterPrompt:    "筛选: ",
	addPrompt:       "添加联系人: ",
	addPlaceholder:  "账号",
	removeConfirm:   "删除联系人 %s？(y/n)",
	contactAdded:    "已添加联系人 %s",
	contactRemoved:  "已删除联系人 %s",
	unknownAccount:  "没有账号 %s",

	noRecords:     "还没有通话记录",
	typeAudio:     "语音",
	typeVideo:     "视频",
	callAudio:     "语音通话",
	callVideo:     "视频通话",
	dirOutgoing:   "呼出",
	dirIncoming:   "呼入",
	historyHeader: [5]string{"对方", "类型", "时间", "时长", "状态"},

	incomingTitle:     "来电",
	attachment:        "附加信息",
	expiresIn:         "%d 秒后超时",
	inviteOffline:     "（登录时收到）",
	answeredElsewhere: "来电已在其他设备接听",
	rejectedElsewhere: "来电已在其他设备拒绝",
	accept:            "接听",
	reject:            "拒绝",

	calling:      "正在呼叫 %s",
	waiting:      "等待对方接听… %d 秒",
	calleeOff:    "对方不在线，呼叫将保留至超时",
	cancelHint:   "c 取消",
	dismissHint:  "按 Enter 返回",
	callFailed:   "呼叫失败：%s",
	alreadyBusy:  "已在通话中",
	noSuchPeer:   "没有账号 %s",
	ended:        "通话已结束 %s",
	endedPeer:    "对方已挂断",
	callEndedFmt: "%s · %s %s",

	inCallWith:   "与 %s 通话中",
	duration:     "时长",
	micOn:        "麦克风开",
	micOff:       "麦克风已静音",
	camOn:        "摄像头开",
	camOff:       "摄像头已关闭",
	peerMuted:    "对方已静音",
	peerCamOff:   "对方已关闭摄像头",
	noVideo:      "等待对方画面…",
	localPreview: "本地画面",
	levelMic:     "麦克风",
	levelSpeaker: "扬声器",
	statsTitle:   "通话质量",
	statBitrate:  "码率",
	statLoss:     "丢包",
	statJitter:   "抖动",
	statRTT:      "往返",
	statMOS:      "MOS",
	statVideo:    "画面",
	viaRelay:     "经中继",
	quality:      "网络",
	qualityNames: [6]string{"—", "优", "良", "一般", "差", "很差"},
	switchAsk:    "对方请求切换为视频通话 (y 同意 / n 拒绝)",
	switchWait:   "已请求切换为视频通话，等待对方同意…",
	switchNo:     "对方拒绝切换为视频通话",
	mediaWarn:    "媒体提示（%s）：%s",
	noMedia:      "没有收到对方的音视频：%s",
	peerNoMedia:  "对方没有收到音视频：%s",
	camSwitched:  "已切换摄像头",
	camNoSwitch:  "没有可切换的摄像头",

	logTitle: "事件日志",
	logEmpty: "（还没有事件）",

	quitConfirm: "通话进行中，挂断并退出？(y/n)",

	loginTitle:  "登录",
	loginServer: "服务器",
	loginAcct:   "账号",
	loginToken:  "令牌",
	loginHint:   "Tab 切换 · Enter 登录 · Esc 退出",
	loginBusy:   "正在登录…",
	loginFailed: "登录失败：%s",

	kUpDown: "移动", kFilter: "筛选", kAudio: "语音", kVideo: "视频", kEnter: "呼叫",
	kAccept: "接听", kReject: "拒绝", kCancel: "取消呼叫", kHangup: "挂断", kMute: "静音",
	kCamera: "摄像头", kSwitchCam: "切换摄像头", kSwitch: "切换音视频", kLog: "日志", kTab: "联系人/记录", kQuit: "退出",
	kHelp: "帮助", kAdd: "添加联系人", kRemove: "删除联系人", kDismiss: "返回", kRedial: "回拨",
	kNext: "下一项", kSubmit: "确定", kEsc: "取消", kYes: "确定", kNo: "取消", kAgree: "同意",
}

var enText = text{
	lang:         "en",
	appName:      "softphone",
	tabContacts:  "Contacts",
	tabHistory:   "History",
	connected:    "connected",
	reconnecting: "Connection to the server lost, reconnecting… (%s)",
	disconnected: "Disconnected: %s",
	reconnected:  "Reconnected to the server",

	presenceOnline:  "online",
	presenceInCall:  "in call",
	presenceOffline: "offline",
	noContacts:      "No contacts yet, press + to add one",
	noMatch:         "No contact matches",
	filterPrompt:    "Filter: ",
	addPrompt:       "Add contact: ",
	addPlaceholder:  "account",
	removeConfirm:   "Remove contact %s? (y/n)",
	contactAdded:    "Added contact %s",
	contactRemoved:  "Removed contact %s",
	unknownAccount:  "No account %s",

	noRecords:     "No calls yet",
	typeAudio:     "audio",
	typeVideo:     "video",
	callAudio:     "Audio call",
	callVideo:     "Video call",
	dirOutgoing:   "out",
	dirIncoming:   "in",
	historyHeader: [5]string{"Peer", "Type", "Time", "Length", "Status"},

	incomingTitle:     "Incoming call",
	attachment:        "Attachment",
	expiresIn:         "times out in %d s",
	inviteOffline:     "(delivered at login)",
	answeredElsewhere: "The call was answered on another device",
	rejectedElsewhere: "The call was rejected on another device",
	accept:            "accept",
	reject:            "reject",

	calling:      "Calling %s",
	waiting:      "Waiting for an answer… %d s",
	calleeOff:    "The callee is offline; the call rings until it times out",
	cancelHint:   "c cancel",
	dismissHint:  "Press Enter to go back",
	callFailed:   "Call failed: %s",
	alreadyBusy:  "already in a call",
	noSuchPeer:   "no account %s",
	ended:        "Call ended %s",
	endedPeer:    "The peer hung up",
	callEndedFmt: "%s · %s %s",

	inCallWith:   "In call with %s",
	duration:     "Duration",
	micOn:        "mic on",
	micOff:       "mic muted",
	camOn:        "camera on",
	camOff:       "camera off",
	peerMuted:    "peer muted",
	peerCamOff:   "peer camera off",
	noVideo:      "Waiting for the peer's picture…",
	localPreview: "Local",
	levelMic:     "Mic",
	levelSpeaker: "Speaker",
	statsTitle:   "Quality",
	statBitrate:  "Bitrate",
	statLoss:     "Loss",
	statJitter:   "Jitter",
	statRTT:      "RTT",
	statMOS:      "MOS",
	statVideo:    "Video",
	viaRelay:     "via relay",
	quality:      "Network",
	qualityNames: [6]string{"—", "excellent", "good", "fair", "poor", "bad"},
	switchAsk:    "The peer asks to switch to video (y agree / n refuse)",
	switchWait:   "Asked to switch to video, waiting for the peer…",
	switchNo:     "The peer refused to switch to video",
	mediaWarn:    "Media warning (%s): %s",
	noMedia:      "No audio or video from the peer: %s",
	peerNoMedia:  "The peer gets no audio or video: %s",
	camSwitched:  "Switched camera",
	camNoSwitch:  "No other camera to switch to",

	logTitle: "Event log",
	logEmpty: "(no events yet)",

	quitConfirm: "A call is in progress. Hang up and quit? (y/n)",

	loginTitle:  "Log in",
	loginServer: "Server",
	loginAcct:   "Account",
	loginToken:  "Token",
	loginHint:   "Tab next field · Enter log in · Esc quit",
	loginBusy:   "Logging in…",
	loginFailed: "Login failed: %s",

	kUpDown: "move", kFilter: "filter", kAudio: "audio", kVideo: "video", kEnter: "call",
	kAccept: "accept", kReject: "reject", kCancel: "cancel call", kHangup: "hang up", kMute: "mute",
	kCamera: "camera", kSwitchCam: "switch camera", kSwitch: "audio/video", kLog: "log", kTab: "contacts/history", kQuit: "quit",
	kHelp: "help", kAdd: "add contact", kRemove: "remove contact", kDismiss: "back", kRedial: "redial",
	kNext: "next field", kSubmit: "ok", kEsc: "cancel", kYes: "yes", kNo: "no", kAgree: "agree",
}

// textFor picks the texts of lang: "en…" is English, anything else the
// default Chinese, as call.StatusText decides.
func textFor(lang string) *text {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "en") {
		return &enText
	}
	return &zhText
}

func (t *text) presence(p string) string {
	switch p {
	case protocol.PresenceOnline:
		return t.presenceOnline
	case protocol.PresenceInCall:
		return t.presenceInCall
	}
	return t.presenceOffline
}

func (t *text) callType(ct protocol.CallType) string {
	if ct == protocol.CallVideo {
		return t.typeVideo
	}
	return t.typeAudio
}

func (t *text) callTypeLong(ct protocol.CallType) string {
	if ct == protocol.CallVideo {
		return t.callVideo
	}
	return t.callAudio
}
