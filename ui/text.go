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
	reconnecting string
	reconnected  string
	gaveUp       string // the engine stopped reconnecting
	// The server ended the session (SESSION_ENDED): the token was reset,
	// the account removed.
	tokenReset     string
	accountRemoved string

	// contacts
	presenceOnline  string
	presenceInCall  string
	presenceOffline string
	presenceUnknown string // while disconnected
	presencePending string // the contact has not added you back
	noContacts      string
	noMatch         string
	filterPrompt    string
	addPrompt       string
	addPlaceholder  string
	removeConfirm   string // %s: contact
	contactAdded    string // %s
	contactPending  string // %s: added, presence shown once they add you too
	contactRemoved  string // %s
	unknownAccount  string // %s
	badAccount      string // %s: not a valid account name

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
	inviteFrom        string // %s peer, %s what happened to the invite
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
	offlineCall  string // a call while the connection is down

	// in call
	inCallWith     string // %s peer
	duration       string
	micOn          string
	micOff         string
	camOn          string
	camOff         string
	peerMuted      string
	peerCamOff     string
	noVideo        string
	localPreview   string
	levelMic       string
	levelSpeaker   string
	statsTitle     string
	statBitrate    string
	statLoss       string
	statJitter     string
	statRTT        string
	statMOS        string
	statVideoRecv  string // the received picture
	statVideoSend  string // ours
	videoFrozen    string // the received picture stands still
	videoPaused    string // a side's video is paused for want of bandwidth
	viaRelay       string
	quality        string
	qualityNames   [6]string // unknown, excellent, good, fair, poor, bad
	switchAsk      string    // peer asks to switch to video
	switchWait     string
	switchNo       string
	mediaWarn      string            // %s kind, %s error
	mediaKinds     map[string]string // MEDIA_WARNING kinds by name
	noMedia        string            // %s cause: no media arrived from the peer
	peerNoMedia    string            // %s cause: the peer reports it gets no media
	camSwitched    string            // SwitchCamera moved to the next camera
	camNoSwitch    string            // … found none to move to
	camInAudio     string            // e in an audio call
	camOffPane     string            // the local preview with the camera off
	peerCamPane    string            // the remote pane with the peer's camera off
	blackPicture   string            // the remote picture is all black
	switchGone     string            // we withdrew our switch request
	switchExpire   string            // … it expired unanswered
	switchPeerGone string            // the peer withdrew theirs
	micSilent      string            // the microphone sends silence

	// event log
	logTitle  string
	logEmpty  string
	logHidden string // %d STATS lines hidden
	logScroll string // %d lines below

	// quit
	quitConfirm string // %s peer
	quitCalling string // %s peer
	quitRinging string // %s peer

	// login
	loginTitle  string
	loginServer string
	loginAcct   string
	loginToken  string
	loginHint   string
	loginBusy   string
	loginFailed string // %s
	loginNoAcct string

	// errors, by kind: the server's own messages are English
	errUnreachable string // server cannot be reached
	errTimeout     string
	errToken       string // bad or expired token
	errNoAccount   string // %s account
	errSelf        string // calling or adding yourself
	errBusy        string // already in a call
	errGone        string // the call or invite is over
	errElsewhere   string // handled on another device
	errServer      string // server-side trouble
	errOther       string // %s message, %d code

	// key help
	kUpDown, kFilter, kAudio, kVideo, kEnter, kAccept, kReject, kCancel string
	kHangup, kMute, kCamera, kSwitchCam, kSwitch, kLog, kTab, kQuit     string
	kHelp                                                               string
	kAdd, kRemove, kDismiss, kRedial, kNext, kSubmit, kEsc              string
	kYes, kNo, kAgree                                                   string
	kEscMain, kCtrlC, kLogScroll, kLogFilter, kWithdraw                 string
}

var zhText = text{
	lang:           "zh",
	appName:        "softphone",
	tabContacts:    "联系人",
	tabHistory:     "通话记录",
	connected:      "已连接",
	reconnecting:   "与服务器的连接已断开，正在重连…",
	reconnected:    "已重新连接服务器",
	gaveUp:         "已与服务器断开，不再重连（l 查看日志）",
	tokenReset:     "已退出登录：令牌已重置，请用新令牌登录",
	accountRemoved: "已退出登录：账号已被删除",

	presenceOnline:  "在线",
	presenceInCall:  "通话中",
	presenceOffline: "离线",
	presenceUnknown: "未知",
	presencePending: "待对方添加",
	noContacts:      "还没有联系人，按 + 添加",
	noMatch:         "没有匹配的联系人",
	filterPrompt:    "筛选: ",
	addPrompt:       "添加联系人: ",
	addPlaceholder:  "账号",
	removeConfirm:   "删除联系人 %s？(y/n)",
	contactAdded:    "已添加联系人 %s",
	contactPending:  "已添加 %s，对方也添加你后可见其在线状态",
	contactRemoved:  "已删除联系人 %s",
	unknownAccount:  "没有账号 %s",
	badAccount:      "账号 %q 无效：只能用字母、数字、_ 和 -，最多 64 个字符",

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
	answeredElsewhere: "已在其他设备接听",
	rejectedElsewhere: "已在其他设备拒绝",
	inviteFrom:        "%s 的来电 · %s",
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
	offlineCall:  "未连接服务器，正在重连，稍后再呼叫",

	inCallWith:     "与 %s 通话中",
	duration:       "时长",
	micOn:          "麦克风开",
	micOff:         "麦克风已静音",
	camOn:          "摄像头开",
	camOff:         "摄像头已关闭",
	peerMuted:      "对方已静音",
	peerCamOff:     "对方已关闭摄像头",
	noVideo:        "等待对方画面…",
	localPreview:   "本地画面",
	levelMic:       "麦克风",
	levelSpeaker:   "扬声器",
	statsTitle:     "通话质量",
	statBitrate:    "码率",
	statLoss:       "丢包",
	statJitter:     "抖动",
	statRTT:        "往返",
	statMOS:        "MOS",
	statVideoRecv:  "画面↓",
	statVideoSend:  "画面↑",
	videoFrozen:    "卡顿",
	videoPaused:    "已暂停(网络差)",
	viaRelay:       "经中继",
	quality:        "网络",
	qualityNames:   [6]string{"—", "优", "良", "一般", "差", "很差"},
	switchAsk:      "对方请求切换为视频通话 (y 同意 / n 拒绝)",
	switchWait:     "已请求切换为视频通话，等待对方同意…",
	switchNo:       "对方拒绝切换为视频通话",
	mediaWarn:      "媒体提示（%s）：%s",
	mediaKinds:     map[string]string{"audio": "麦克风", "video": "摄像头", "audioOut": "扬声器", "network": "网络"},
	noMedia:        "没有收到对方的音视频：%s",
	peerNoMedia:    "对方没有收到音视频：%s",
	camSwitched:    "已切换摄像头",
	camNoSwitch:    "没有可切换的摄像头",
	camInAudio:     "语音通话不发送画面：按 s 切换为视频通话",
	camOffPane:     "摄像头已关闭",
	peerCamPane:    "对方已关闭摄像头",
	blackPicture:   "对方画面全黑",
	switchGone:     "已撤回切换为视频通话的请求",
	switchExpire:   "对方没有回应，已撤回切换为视频通话的请求",
	switchPeerGone: "对方已撤回切换为视频通话的请求",
	micSilent:      "麦克风没有声音：检查它是否静音，或用 --audio-in 选择其他设备（softphone devices 列出设备）",

	logTitle:  "事件日志",
	logEmpty:  "（还没有事件）",
	logHidden: "已隐藏 %d 条 STATS（f 显示）",
	logScroll: "下面还有 %d 行（End 回到最新）",

	quitConfirm: "正在与 %s 通话，挂断并退出？(y/n)",
	quitCalling: "正在呼叫 %s，取消呼叫并退出？(y/n)",
	quitRinging: "%s 来电中，拒绝并退出？(y/n)",

	loginTitle:  "登录",
	loginServer: "服务器",
	loginAcct:   "账号",
	loginToken:  "令牌",
	loginHint:   "Tab 切换 · Enter 登录 · Esc 退出",
	loginBusy:   "正在登录…",
	loginFailed: "登录失败：%s",
	loginNoAcct: "请输入账号",

	errUnreachable: "无法连接服务器",
	errTimeout:     "服务器没有及时回应",
	errToken:       "账号或令牌错误，或令牌已失效",
	errNoAccount:   "没有账号 %s",
	errSelf:        "不能呼叫或添加自己",
	errBusy:        "已在通话中",
	errGone:        "通话已结束",
	errElsewhere:   "已在其他设备处理",
	errServer:      "服务器暂时不可用，请稍后再试",
	errOther:       "%s（代码 %d）",

	kUpDown: "移动", kFilter: "筛选", kAudio: "语音", kVideo: "视频", kEnter: "呼叫",
	kAccept: "接听", kReject: "拒绝", kCancel: "取消呼叫", kHangup: "挂断", kMute: "静音",
	kCamera: "摄像头", kSwitchCam: "切换摄像头", kSwitch: "切换音视频", kLog: "日志", kTab: "联系人/记录", kQuit: "退出",
	kHelp: "帮助", kAdd: "添加联系人", kRemove: "删除联系人", kDismiss: "返回", kRedial: "回拨",
	kNext: "下一项", kSubmit: "确定", kEsc: "取消", kYes: "确定", kNo: "取消", kAgree: "同意",
	kEscMain: "清除筛选", kCtrlC: "退出（通话中先确认）", kLogScroll: "翻动日志", kLogFilter: "显示/隐藏 STATS",
	kWithdraw: "撤回请求",
}

var enText = text{
	lang:           "en",
	appName:        "softphone",
	tabContacts:    "Contacts",
	tabHistory:     "History",
	connected:      "connected",
	reconnecting:   "Connection to the server lost, reconnecting…",
	reconnected:    "Reconnected to the server",
	gaveUp:         "Disconnected from the server, not reconnecting (l shows the log)",
	tokenReset:     "Logged out: token was reset; log in with the new token",
	accountRemoved: "Logged out: account was removed",

	presenceOnline:  "online",
	presenceInCall:  "in call",
	presenceOffline: "offline",
	presenceUnknown: "unknown",
	presencePending: "pending",
	noContacts:      "No contacts yet, press + to add one",
	noMatch:         "No contact matches",
	filterPrompt:    "Filter: ",
	addPrompt:       "Add contact: ",
	addPlaceholder:  "account",
	removeConfirm:   "Remove contact %s? (y/n)",
	contactAdded:    "Added contact %s",
	contactPending:  "Added %s; their presence shows once they add you too",
	contactRemoved:  "Removed contact %s",
	unknownAccount:  "No account %s",
	badAccount:      "Account %q is not valid: letters, digits, _ and - only, at most 64",

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
	answeredElsewhere: "answered on another device",
	rejectedElsewhere: "rejected on another device",
	inviteFrom:        "Call from %s · %s",
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
	offlineCall:  "Not connected to the server (reconnecting); call again in a moment",

	inCallWith:     "In call with %s",
	duration:       "Duration",
	micOn:          "mic on",
	micOff:         "mic muted",
	camOn:          "camera on",
	camOff:         "camera off",
	peerMuted:      "peer muted",
	peerCamOff:     "peer camera off",
	noVideo:        "Waiting for the peer's picture…",
	localPreview:   "Local",
	levelMic:       "Mic",
	levelSpeaker:   "Speaker",
	statsTitle:     "Quality",
	statBitrate:    "Bitrate",
	statLoss:       "Loss",
	statJitter:     "Jitter",
	statRTT:        "RTT",
	statMOS:        "MOS",
	statVideoRecv:  "Video↓",
	statVideoSend:  "Video↑",
	videoFrozen:    "frozen",
	videoPaused:    "paused (poor network)",
	viaRelay:       "via relay",
	quality:        "Network",
	qualityNames:   [6]string{"—", "excellent", "good", "fair", "poor", "bad"},
	switchAsk:      "The peer asks to switch to video (y agree / n refuse)",
	switchWait:     "Asked to switch to video, waiting for the peer…",
	switchNo:       "The peer refused to switch to video",
	mediaWarn:      "Media warning (%s): %s",
	mediaKinds:     map[string]string{"audio": "microphone", "video": "camera", "audioOut": "speaker", "network": "network"},
	noMedia:        "No audio or video from the peer: %s",
	peerNoMedia:    "The peer gets no audio or video: %s",
	camSwitched:    "Switched camera",
	camNoSwitch:    "No other camera to switch to",
	camInAudio:     "An audio call sends no picture: press s to switch to video",
	camOffPane:     "camera off",
	peerCamPane:    "The peer turned the camera off",
	blackPicture:   "The peer's picture is black",
	switchGone:     "Withdrew the request to switch to video",
	switchExpire:   "No answer: withdrew the request to switch to video",
	switchPeerGone: "The peer withdrew the request to switch to video",
	micSilent:      "The microphone is silent: check it is not muted, or pick another with --audio-in (softphone devices lists them)",

	logTitle:  "Event log",
	logEmpty:  "(no events yet)",
	logHidden: "%d STATS hidden (f shows them)",
	logScroll: "%d more lines below (End: newest)",

	quitConfirm: "In a call with %s. Hang up and quit? (y/n)",
	quitCalling: "Calling %s. Cancel the call and quit? (y/n)",
	quitRinging: "%s is calling. Reject and quit? (y/n)",

	loginTitle:  "Log in",
	loginServer: "Server",
	loginAcct:   "Account",
	loginToken:  "Token",
	loginHint:   "Tab next field · Enter log in · Esc quit",
	loginBusy:   "Logging in…",
	loginFailed: "Login failed: %s",
	loginNoAcct: "Enter an account",

	errUnreachable: "cannot reach the server",
	errTimeout:     "the server did not answer in time",
	errToken:       "wrong account or token, or the token has expired",
	errNoAccount:   "no account %s",
	errSelf:        "you cannot call or add yourself",
	errBusy:        "already in a call",
	errGone:        "the call is over",
	errElsewhere:   "handled on another device",
	errServer:      "the server is unavailable, try again in a moment",
	errOther:       "%s (code %d)",

	kUpDown: "move", kFilter: "filter", kAudio: "audio", kVideo: "video", kEnter: "call",
	kAccept: "accept", kReject: "reject", kCancel: "cancel call", kHangup: "hang up", kMute: "mute",
	kCamera: "camera", kSwitchCam: "switch camera", kSwitch: "audio/video", kLog: "log", kTab: "contacts/history", kQuit: "quit",
	kHelp: "help", kAdd: "add contact", kRemove: "remove contact", kDismiss: "back", kRedial: "redial",
	kNext: "next field", kSubmit: "ok", kEsc: "cancel", kYes: "yes", kNo: "no", kAgree: "agree",
	kEscMain: "clear filter", kCtrlC: "quit (asks in a call)", kLogScroll: "scroll the log", kLogFilter: "show/hide STATS",
	kWithdraw: "withdraw request",
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
	case "":
		return t.presenceUnknown
	case protocol.PresenceOnline:
		return t.presenceOnline
	case protocol.PresenceInCall:
		return t.presenceInCall
	case protocol.PresencePending:
		return t.presencePending
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
