package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

// maxRecordsLimit is the largest --limit; the server caps what it returns
// anyway, this only catches typos.
const maxRecordsLimit = 1000

func newRecordsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "List the account's call history from the server",
		Long: `List the configured account's call records, newest first: time, direction,
peer, type, duration and the NeCallKit status text (已完成, 对方已拒绝, ...;
English with --language en).`,
		Example: `  softphone records --account alice --token TOKEN
  softphone records --peer bob --limit 5 --language en
  softphone records --json | jq .status`,
		Args:    noArgs,
		GroupID: groupInfo,
	}
	fs := cmd.Flags()
	cf := newCommandFlags(fs)
	cf.identity()
	peer := fs.String("peer", "", "only calls with `ACCOUNT`")
	limit := fs.Int("limit", 0, "at most `N` records, newest first (default: the server's, 50)")
	asJSON := fs.Bool("json", false, "print each record as one JSON object per line")
	cmd.RunE = c.action(func(ctx context.Context, _ []string) (int, error) {
		return runRecords(ctx, c, cf, *peer, *limit, *asJSON)
	})
	return cmd
}

// runRecords lists the account's call history from the server.
func runRecords(ctx context.Context, c *cli, cf *commandFlags, peer string, limit int, asJSON bool) (int, error) {
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return exitError, err
	}
	if peer != "" && !protocol.ValidID(peer) {
		return exitError, usageError{fmt.Errorf("invalid --peer %q: use letters, digits, _ and -", peer)}
	}
	if limit < 0 || limit > maxRecordsLimit {
		return exitError, usageError{fmt.Errorf("--limit %d: want 0–%d", limit, maxRecordsLimit)}
	}
	eng, err := connect(ctx, c, cfg, nil)
	if err != nil {
		return exitError, err
	}
	defer eng.Close()
	qctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	recs, err := eng.Records(qctx, peer, limit)
	if err != nil {
		return exitError, fmt.Errorf("records: %w", err)
	}
	if asJSON {
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				return exitError, fmt.Errorf("encode record: %w", err)
			}
			if _, err := fmt.Fprintf(c.stdout, "%s\n", b); err != nil {
				return exitError, err
			}
		}
		return exitOK, nil
	}
	return exitOK, printRecords(c.stdout, recs, eng.Account(), cfg.Language)
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
	return writeTable(w, rows)
}

// recordDuration is the call's length as the TUI shows it (mm:ss), "–"
// for a call that never connected.
func recordDuration(r call.RecordMessage) string {
	if r.Status != protocol.StatusCompleted {
		return "–"
	}
	return call.ClockText(r.Length())
}
