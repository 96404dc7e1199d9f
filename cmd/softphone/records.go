package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
)

// Paging: the server answers at most protocol.MaxRecordsLimit records per
// request (fewer when they would not fit one frame), so the command fetches
// page after page until it has --limit records, or every one with --all.
const (
	defaultRecordsLimit = 50
	maxRecordsLimit     = 1_000_000 // only catches typos
)

func newRecordsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "List the account's call history from the server",
		Long: `List the configured account's call records, newest first: time, direction,
peer, type, duration and the NeCallKit status text (已完成, 对方已拒绝, ...;
English with --language en). Records are fetched from the server a page at a
time; when more remain than were printed, the command says on stderr how to
continue (--cursor).`,
		Example: `  softphone records --account alice --token TOKEN
  softphone records --peer bob --limit 5 --language en
  softphone records --all --json | jq .status
  softphone records --limit 100 --cursor 81234   # the next 100, as the last listing suggested`,
		Args:    noArgs,
		GroupID: groupInfo,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.identity()
	q := recordsQuery{}
	fs.StringVar(&q.peer, "peer", "", "only calls with `ACCOUNT`")
	fs.IntVar(&q.limit, "limit", 0, "at most `N` records, newest first (default 50)")
	fs.BoolVar(&q.all, "all", false, "every record")
	fs.StringVar(&q.cursor, "cursor", "", "continue an earlier listing from its `CURSOR` (printed on stderr when more remain)")
	asJSON := fs.Bool("json", false, "print each record as one JSON object per line")
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) {
		return runRecords(ctx, c, cf, q, *asJSON)
	})
	return cmd
}

// recordsQuery is what `records` was asked for.
type recordsQuery struct {
	peer, cursor string
	limit        int
	all          bool
}

// runRecords lists the account's call history from the server.
func runRecords(ctx context.Context, c *cli, cf *commandFlags, q recordsQuery, asJSON bool) (int, error) {
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return exitError, err
	}
	if q.peer != "" && !protocol.ValidID(q.peer) {
		return exitError, usageError{fmt.Errorf("invalid --peer %q: use letters, digits, _ and -", q.peer)}
	}
	if q.limit < 0 || q.limit > maxRecordsLimit {
		return exitError, usageError{fmt.Errorf("--limit %d: want 0–%d", q.limit, maxRecordsLimit)}
	}
	if q.all && q.limit != 0 {
		return exitError, usageError{fmt.Errorf("--all and --limit exclude each other")}
	}
	if q.cursor != "" && strings.Trim(q.cursor, "0123456789") != "" {
		return exitError, usageError{fmt.Errorf("--cursor %q: give the cursor an earlier listing printed", q.cursor)}
	}
	want := q.limit
	if want == 0 {
		want = defaultRecordsLimit
	}
	eng, err := connect(ctx, c, cfg, nil)
	if err != nil {
		return exitError, err
	}
	defer eng.Close()
	var recs []call.RecordMessage
	next := q.cursor
	for q.all || len(recs) < want {
		n := protocol.MaxRecordsLimit
		if !q.all {
			n = min(n, want-len(recs))
		}
		qctx, cancel := context.WithTimeout(ctx, actionTimeout)
		page, err := eng.RecordsPage(qctx, q.peer, next, n)
		cancel()
		if err != nil {
			return exitError, fmt.Errorf("records: %w", err)
		}
		recs = append(recs, page.Records...)
		next = page.Next
		if next == "" {
			break
		}
	}
	if asJSON {
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				return exitError, fmt.Errorf("encode record: %w", err)
			}
			if err := writeJSONLine(c.stdout, b); err != nil {
				return exitError, err
			}
		}
	} else if err := printRecords(c.stdout, recs, eng.Account(), cfg.Language); err != nil {
		return exitError, err
	}
	if next != "" {
		fmt.Fprintf(c.stderr, "more records: continue with --cursor %s\n", next)
	}
	return exitOK, nil
}

// recordWords are the table's texts; the status column is the engine's
// record text (已完成, 对方已拒绝, ...) in the same language.
var recordWords = map[string]map[string]string{
	"zh": {
		"time": "时间", "direction": "方向", "peer": "对方", "type": "类型", "duration": "时长", "status": "状态",
		call.DirectionOutgoing: "呼出", call.DirectionIncoming: "呼入", "audio": "语音", "video": "视频",
		"none": "没有通话记录",
	},
	"en": {
		"time": "TIME", "direction": "DIRECTION", "peer": "PEER", "type": "TYPE", "duration": "DURATION", "status": "STATUS",
		call.DirectionOutgoing: "outgoing", call.DirectionIncoming: "incoming", "audio": "audio", "video": "video",
		"none": "no call records",
	},
}

// printRecords writes the records as an aligned table (by display width:
// the Chinese texts are two cells wide per character).
func printRecords(w io.Writer, recs []call.RecordMessage, self, lang string) error {
	words := recordWords["zh"]
	if lang == "en" {
		words = recordWords["en"]
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, words["none"])
		return err
	}
	rows := [][]string{{words["time"], words["direction"], words["peer"], words["type"], words["duration"], words["status"]}}
	for _, r := range recs {
		peer := r.To
		if r.Direction == call.DirectionIncoming {
			peer = r.From
		}
		if r.From == self && r.To == self {
			peer = self
		}
		when := "–"
		if r.CreatedAt > 0 {
			when = time.UnixMilli(r.CreatedAt).Local().Format("2006-01-02 15:04:05")
		}
		typ := words[r.Type.String()]
		if typ == "" {
			typ = r.Type.String()
		}
		rows = append(rows, []string{when, words[r.Direction], peer, typ, recordDuration(r), r.Text})
	}
	return termsafe.WriteTable(w, rows)
}

// recordDuration is the call's length as the TUI shows it (mm:ss), "–"
// for a call that never connected.
func recordDuration(r call.RecordMessage) string {
	if r.Status != protocol.StatusCompleted {
		return "–"
	}
	return call.ClockText(r.Length())
}
