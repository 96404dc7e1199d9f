package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/admin"
)

// adminTimeout bounds one admin API request, so an unreachable server fails
// with an error instead of hanging a script.
const adminTimeout = 10 * time.Second

// runUser administers accounts through the admin HTTP API.
func runUser(ctx context.Context, c *cli, args []string) (int, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(c.stdout, "usage: softphone %s\n", synopsisOf("user"))
			return exitOK, nil
		}
		return exitError, usageError{fmt.Errorf("want a subcommand: create, list, remove or reset-token")}
	}
	sub, args := args[0], args[1:]
	var synopsis string
	wantAccount := true
	switch sub {
	case "create":
		synopsis = "user create ACCOUNT [--name NICK]"
	case "list":
		synopsis, wantAccount = "user list [--json]", false
	case "remove":
		synopsis = "user remove ACCOUNT"
	case "reset-token":
		synopsis = "user reset-token ACCOUNT"
	default:
		return exitError, usageError{fmt.Errorf("unknown subcommand %q (want create, list, remove or reset-token)", sub)}
	}
	cf := newCommandFlags(c, "user "+sub, synopsis)
	cf.bind("server", "server", "server `URL` (ws:// or http://); default the local serve (env SOFTPHONE_SERVER)")
	cf.bind("app-key", "serve.appKey", "admin `AppKey` (env SOFTPHONE_SERVE_APP_KEY); default from <data>/credentials.json")
	cf.bind("app-secret", "serve.appSecret", "admin `AppSecret` (env SOFTPHONE_SERVE_APP_SECRET); default from <data>/credentials.json")
	cf.bind("data", "serve.data", "`DIR`: data directory of a local serve, to read its credentials.json (env SOFTPHONE_SERVE_DATA)")
	var name string
	var asJSON bool
	switch sub {
	case "create":
		cf.fs.StringVar(&name, "name", "", "nickname shown to callees")
	case "list":
		cf.fs.BoolVar(&asJSON, "json", false, "print {\"users\":[...]} instead of a table")
	}
	cfg, pos, err := cf.load(args, c.getenv)
	if err != nil {
		return exitError, err
	}
	var account string
	switch {
	case wantAccount && len(pos) != 1:
		return exitError, usageError{fmt.Errorf("usage: softphone %s", synopsis)}
	case !wantAccount && len(pos) != 0:
		return exitError, usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	case wantAccount:
		account = pos[0]
		if !protocol.ValidID(account) {
			return exitError, fmt.Errorf("invalid account %q: use letters, digits, _ and -, at most %d", account, protocol.MaxIDLength)
		}
	}

	client, err := adminClient(cfg)
	if err != nil {
		return exitError, err
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	switch sub {
	case "create":
		u, err := client.CreateUser(ctx, account, name)
		if err != nil {
			return exitError, adminError("create user "+account, err)
		}
		return exitOK, printTokenJSON(c, u)
	case "reset-token":
		u, err := client.ResetToken(ctx, account)
		if err != nil {
			return exitError, adminError("reset token of "+account, err)
		}
		return exitOK, printTokenJSON(c, u)
	case "remove":
		if err := client.RemoveUser(ctx, account); err != nil {
			return exitError, adminError("remove user "+account, err)
		}
		return exitOK, nil
	default: // list
		users, err := client.ListUsers(ctx)
		if err != nil {
			return exitError, adminError("list users", err)
		}
		return exitOK, printUsers(c, users, asJSON)
	}
}

// printTokenJSON prints exactly {"account":"...","token":"..."}: the token is
// the one secret the caller needs, and printing it is the point of the command.
func printTokenJSON(c *cli, u admin.User) error {
	b, err := json.Marshal(struct {
		Account string `json:"account"`
		Token   string `json:"token"`
	}{u.Account, u.Token})
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

func printUsers(c *cli, users []admin.User, asJSON bool) error {
	if asJSON {
		type row struct {
			Account   string    `json:"account"`
			Name      string    `json:"name"`
			CreatedAt time.Time `json:"createdAt"`
		}
		rows := make([]row, 0, len(users))
		for _, u := range users {
			rows = append(rows, row{u.Account, u.Name, u.CreatedAt})
		}
		b, err := json.Marshal(map[string][]row{"users": rows})
		if err != nil {
			return fmt.Errorf("encode users: %w", err)
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Account, u.Name, u.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// adminError turns an admin client error into one line that says what is
// wrong: the API's own message when it answered, "unreachable" when not.
func adminError(what string, err error) error {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: admin credentials refused (check --app-key/--app-secret): %s", what, apiErr.Message)
		case http.StatusNotFound:
			return fmt.Errorf("%s: no such account", what)
		case http.StatusConflict:
			return fmt.Errorf("%s: account already exists", what)
		}
		return fmt.Errorf("%s: %s (HTTP %d)", what, apiErr.Message, apiErr.Status)
	}
	return fmt.Errorf("%s: server unreachable: %w", what, err)
}

// localCredentials is what a local `serve` writes to <data>/credentials.json.
type localCredentials struct {
	AppKey    string `json:"appKey"`
	AppSecret string `json:"appSecret"`
}

// adminClient builds the admin API client from the configuration, falling
// back to the credentials a local serve wrote in its data directory.
func adminClient(cfg *Config) (*admin.Client, error) {
	base, err := adminBaseURL(cfg.Server)
	if err != nil {
		return nil, err
	}
	key, secret := cfg.Serve.AppKey, cfg.Serve.AppSecret
	if key == "" || secret == "" {
		path := filepath.Join(cfg.Serve.Data, "credentials.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no admin credentials: give --app-key and --app-secret (or SOFTPHONE_SERVE_APP_KEY/_SECRET), or --data of a local serve: %w", err)
		}
		var lc localCredentials
		if err := json.Unmarshal(b, &lc); err != nil || lc.AppKey == "" || lc.AppSecret == "" {
			return nil, fmt.Errorf("read admin credentials from %s: not a credentials file", path)
		}
		key, secret = lc.AppKey, lc.AppSecret
	}
	return admin.NewClient(base, key, secret, &http.Client{Timeout: adminTimeout}), nil
}

// adminBaseURL maps the signaling URL (ws://host:port/v1/ws) to the admin API
// on the same listener (http://host:port).
func adminBaseURL(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server %q is not a URL like ws://host:port", server)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("server %q: scheme must be ws, wss, http or https", server)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String(), nil
}
