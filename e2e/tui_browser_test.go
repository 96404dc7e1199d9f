package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/softphone/softphone/internal/chromium"
	"github.com/softphone/softphone/internal/webclient"
)

// TestTUIWithBrowser: the real binary's TUI in tmux and the shipped web
// client in headless Chromium call each other. bob in the browser calls
// alice, who accepts with y; then alice calls bob from her contact list and
// he accepts from the incoming prompt. Opus arrives at the browser (its
// getStats) and the TUI shows the call connected; both show 已完成.
func TestTUIWithBrowser(t *testing.T) {
	for _, tool := range []string{"tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not on PATH; scripts/test installs it", tool)
			}
			t.Skipf("%s not on PATH", tool)
		}
	}
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: scripts/test installs it", err)
		}
		t.Skipf("%v", err)
	}
	if testing.Short() {
		t.Skip("builds and runs the real binary and a browser")
	}
	sp := newSoftphoneProcs(t)
	alice := sp.createUser("alice")
	bob := sp.createUser("bob")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := chromium.Launch(ctx, chromium.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	base := "http://" + strings.TrimPrefix(sp.server, "ws://")
	web, err := webclient.Open(ctx, b, "bob", base, "")
	if err != nil {
		t.Fatal(err)
	}
	web.Timeout = screenTimeout
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\nconsole:\n%s", err, strings.Join(web.Console(), "\n"))
		}
	}
	check(web.Login(ctx, "", "bob", bob))

	scr := sp.startTUI(120, 40, "--account", "alice", "--token", alice,
		"--audio-in", "tone", "--audio-out", "none", "--video-in", "testsrc")
	scr.waitFor("the contacts tab", "联系人")
	scr.keys("+")
	scr.waitFor("the add-contact prompt", "添加联系人:")
	scr.keys("-l", "bob")
	scr.keys("Enter")
	check(web.Eval(ctx, `softphoneApp.addContact('alice')`, nil))
	scr.waitMatch("bob online for alice (mutual contacts)", regexp.MustCompile(`bob.*在线`))

	// 1. The browser calls the TUI, which accepts with y.
	check(web.ClickContact(ctx, "alice", false))
	scr.waitFor("the incoming call prompt", "来电")
	scr.keys("y")
	_, err = web.WaitEvent(ctx, "USER_ACCEPT", "d.userId === 'alice'")
	check(err)
	_, err = web.WaitStats(ctx, "d.audioPacketsReceived > 20 && d.audioRecvKbps > 0")
	check(err)
	scr.waitFor("the in-call screen", "语音通话 · 时长")
	check(web.Click(ctx, "btn-hangup"))
	_, err = web.WaitEvent(ctx, "MESSAGE_SENT", "d.status === 1 && d.text === '已完成'")
	check(err)
	scr.waitFor("the call ended", "已完成")
	scr.waitMatch("back at the contacts, bob selected", regexp.MustCompile(`^> \S bob\b`))

	// 2. The TUI calls the browser (video), which accepts from its prompt.
	check(web.ClearEvents(ctx))
	scr.keys("v")
	check(web.WaitFor(ctx, `!document.getElementById('incoming').hidden`))
	check(web.Click(ctx, "btn-accept"))
	_, err = web.WaitStats(ctx, "d.videoFramesDecoded > 5 && d.audioPacketsReceived > 10")
	check(err)
	scr.waitMatch("bob's picture in half blocks", regexp.MustCompile(`▀{40,}`))
	scr.keys("h")
	_, err = web.WaitEvent(ctx, "MESSAGE_SENT", "d.status === 1 && d.type === 2 && d.text === '已完成'")
	check(err)
	scr.keys("Tab")
	scr.waitMatch("the video call in the TUI's history", regexp.MustCompile(`bob.*视频.*已完成`))
}
