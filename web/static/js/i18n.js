// i18n.js — the web client's texts, Chinese by default as in the seed,
// English optional; and the call-record texts of the seed's statusMap.

// Record statuses: [caller's text, callee's text], as the Go engine's
// call/records.go and the seed's beforeCall page.
const RECORD_TEXTS = {
  zh: {
    1: ['已完成', '已完成'],
    2: ['已取消', '对方已取消'],
    3: ['对方已拒绝', '已拒绝'],
    4: ['未接听', '未接听'],
    5: ['对方忙线', '未接听'],
  },
  en: {
    1: ['Completed', 'Completed'],
    2: ['Canceled', 'Canceled by caller'],
    3: ['Rejected by callee', 'Rejected'],
    4: ['No answer', 'Missed'],
    5: ['Callee busy', 'Missed'],
  },
};

export function normLanguage(lang) {
  return String(lang || '').trim().toLowerCase().startsWith('en') ? 'en' : 'zh';
}

// recordText is what `self` sees for a record: the seed decides the side
// with `to === myAccount` (a call to oneself counts as outgoing).
export function recordText(record, self, lang) {
  const callee = record.to === self && record.from !== self;
  const t = RECORD_TEXTS[normLanguage(lang)][record.status];
  return t ? t[callee ? 1 : 0] : '';
}

const TEXTS = {
  zh: {
    title: '软电话',
    server: '服务器',
    account: '账号',
    token: '令牌',
    login: '登录',
    logout: '退出',
    loggingIn: '正在登录…',
    contacts: '联系人',
    history: '通话记录',
    addContact: '添加联系人',
    add: '添加',
    remove: '删除',
    audioCall: '语音通话',
    videoCall: '视频通话',
    online: '在线',
    inCall: '通话中',
    offline: '离线',
    pending: '等待对方添加',
    noContacts: '还没有联系人',
    noRecords: '还没有通话记录',
    incoming: '来电',
    incomingAudio: '邀请你语音通话',
    incomingVideo: '邀请你视频通话',
    accept: '接听',
    reject: '拒绝',
    cancel: '取消',
    hangup: '挂断',
    mute: '静音',
    unmute: '取消静音',
    cameraOff: '关闭摄像头',
    cameraOn: '打开摄像头',
    toAudio: '切到语音',
    toVideo: '切到视频',
    calling: '正在呼叫…',
    waitingAnswer: '等待对方接听 {s} 秒',
    connecting: '正在连接…',
    connected: '通话中 {d}',
    quality: '网络质量',
    qualityLevels: ['未知', '很差', '较差', '一般', '良好', '优秀'],
    switchAsk: '{peer} 请求切换到视频通话',
    agree: '同意',
    refuse: '拒绝',
    switchRefused: '对方拒绝切换到视频',
    peerMutedAudio: '对方已静音',
    peerCameraOff: '对方关闭了摄像头',
    otherClientAccept: '已在其他设备接听',
    otherClientReject: '已在其他设备拒绝',
    disconnected: '与服务器断开，正在重连…',
    reconnected: '已重新连接',
    mediaWarning: '媒体告警',
    noMedia: '没有收到对方的音视频：{cause}',
    peerNoMedia: '对方没有收到音视频：{cause}',
    deviceWarning: '设备不可用：{cause}',
    outgoing: '呼出',
    incomingDir: '呼入',
    audio: '语音',
    video: '视频',
    language: 'English',
    errorPrefix: '错误',
    callEnded: '通话结束',
    you: '我',
  },
  en: {
    title: 'softphone',
    server: 'Server',
    account: 'Account',
    token: 'Token',
    login: 'Log in',
    logout: 'Log out',
    loggingIn: 'Logging in…',
    contacts: 'Contacts',
    history: 'History',
    addContact: 'Add contact',
    add: 'Add',
    remove: 'Remove',
    audioCall: 'Audio call',
    videoCall: 'Video call',
    online: 'online',
    inCall: 'in a call',
    offline: 'offline',
    pending: 'not yet added you',
    noContacts: 'No contacts yet',
    noRecords: 'No calls yet',
    incoming: 'Incoming call',
    incomingAudio: 'invites you to an audio call',
    incomingVideo: 'invites you to a video call',
    accept: 'Accept',
    reject: 'Reject',
    cancel: 'Cancel',
    hangup: 'Hang up',
    mute: 'Mute',
    unmute: 'Unmute',
    cameraOff: 'Camera off',
    cameraOn: 'Camera on',
    toAudio: 'Switch to audio',
    toVideo: 'Switch to video',
    calling: 'Calling…',
    waitingAnswer: 'Waiting for an answer, {s} s',
    connecting: 'Connecting…',
    connected: 'In call {d}',
    quality: 'Network',
    qualityLevels: ['unknown', 'very bad', 'bad', 'fair', 'good', 'excellent'],
    switchAsk: '{peer} asks to switch to video',
    agree: 'Agree',
    refuse: 'Refuse',
    switchRefused: 'The peer refused to switch to video',
    peerMutedAudio: 'The peer muted the microphone',
    peerCameraOff: 'The peer turned the camera off',
    otherClientAccept: 'Answered on another device',
    otherClientReject: 'Rejected on another device',
    disconnected: 'Server connection lost, reconnecting…',
    reconnected: 'Reconnected',
    mediaWarning: 'Media warning',
    noMedia: 'No audio or video from the peer: {cause}',
    peerNoMedia: 'The peer gets no audio or video: {cause}',
    deviceWarning: 'Device unavailable: {cause}',
    outgoing: 'outgoing',
    incomingDir: 'incoming',
    audio: 'audio',
    video: 'video',
    language: '中文',
    errorPrefix: 'Error',
    callEnded: 'Call ended',
    you: 'me',
  },
};

// translator returns t(key, params) for lang; {name} in a text is replaced
// by params.name.
export function translator(lang) {
  const table = TEXTS[normLanguage(lang)];
  return (key, params) => {
    let s = table[key];
    if (s === undefined) return key;
    if (typeof s !== 'string') return s;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
    return s;
  };
}
