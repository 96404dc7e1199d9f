package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/internal/termsafe"
	"github.com/softphone/softphone/server/admin"
)

// adminTimeout bounds one admin API request, so an unreachable server fails
// with an error instead of hanging a script.
const adminTimeout = 10 * time.Second

func newUserCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list and remove accounts; reset tokens",
		Long: `Administer accounts through the server's admin API. The admin key pair comes
from --app-key/--app-secret, or from the credentials.json a local serve wrote
in its data directory (--data).`,
		Example: `  softphone user create alice --name Alice     # prints {"account":"alice","token":"..."}
  softphone user list
  softphone user reset-token alice
  softphone user remove alice --server ws://10.0.0.5:7800 --app-key K --app-secret S`,
		Args:    unknownCommand,
		GroupID: groupServer,
	}
	fs := cmd.PersistentFlags()
	cf := newCommandFlags(fs)
	cf.bind("server", "server", "server `URL` (ws://, wss://, http:// or https://); default the serve running on --data (env SOFTPHONE_SERVER)")
	cf.bind("ca-file", "caFile", "PEM `FILE` of CA certificates to trust for an https:// server besides the system's (env SOFTPHONE_CA_FILE)")
	cf.bind("app-key", "serve.appKey", "admin `KEY` (env SOFTPHONE_SERVE_APP_KEY); default from DIR/credentials.json")
	cf.bind("app-secret", "serve.appSecret", "admin `SECRET` (env SOFTPHONE_SERVE_APP_SECRET); default from DIR/credentials.json")
	cf.bind("data", "serve.data", "`DIR`: data directory of a local serve, to read its credentials.json (env SOFTPHONE_SERVE_DATA)")
	_ = cobra.MarkFlagDirname(fs, "data")

	// sub builds one subcommand: its admin request runs with a client for
	// the configured server, bounded by adminTimeout.
	sub := func(use, short string, args cobra.PositionalArgs, do func(ctx context.Context, client *admin.Client, args []string) error) *cobra.Command {
		sc := &cobra.Command{Use: use, Short: short, Args: args}
		sc.RunE = c.action(func(ctx context.Context, args []string) (int, error) {
			for _, a := range args {
				if !protocol.ValidID(a) {
					return exitError, fmt.Errorf("invalid account %q: use letters, digits, _ and -, at most %d", a, protocol.MaxIDLength)
				}
			}
			cfg, err := cf.load(c.getenv)
			if err != nil {
				return exitError, err
			}
			client, err := adminClient(cfg)
			if err != nil {
				return exitError, err
			}
			ctx, cancel := context.WithTimeout(ctx, adminTimeout)
			defer cancel()
			if err := do(ctx, client, args); err != nil {
				return exitError, err
			}
			return exitOK, nil
		})
		return sc
	}
	account := exactArgs(1, "one ACCOUNT")

	var name string
	create := sub("create ACCOUNT", "Create an account and print its token as JSON", account,
		func(ctx context.Context, client *admin.Client, args []string) error {
			u, err := client.CreateUser(ctx, args[0], name)
			if err != nil {
				return adminError(args[0], err)
			}
			return printTokenJSON(c, u)
		})
	create.Flags().StringVar(&name, "name", "", "`NICK`: the nickname callees see")

	var asJSON bool
	list := sub("list", "List the accounts", noArgs,
		func(ctx context.Context, client *admin.Client, _ []string) error {
			users, err := client.ListUsers(ctx)
			if err != nil {
				return adminError("", err)
			}
			return printUsers(c, users, asJSON)
		})
	list.Flags().BoolVar(&asJSON, "json", false, "print {\"users\":[...]} instead of a table")

	remove := sub("remove ACCOUNT", "Remove an account", account,
		func(ctx context.Context, client *admin.Client, args []string) error {
			if err := client.RemoveUser(ctx, args[0]); err != nil {
				return adminError(args[0], err)
			}
			return nil
		})
	reset := sub("reset-token ACCOUNT", "Give an account a new token (the old one stops working)", account,
		func(ctx context.Context, client *admin.Client, args []string) error {
			u, err := client.ResetToken(ctx, args[0])
			if err != nil {
				return adminError(args[0], err)
			}
			return printTokenJSON(c, u)
		})
	cmd.AddCommand(create, list, remove, reset)
	cmd.RunE = func(*cobra.Command, []string) error {
		return usageError{errors.New("want a subcommand: create, list, remove or reset-token")}
	}
	return cmd
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
	return writeJSONLine(c.stdout, b)
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
		return writeJSONLine(c.stdout, b)
	}
	rows := [][]string{{"ACCOUNT", "NAME", "CREATED"}}
	for _, u := range users {
		rows = append(rows, []string{u.Account, u.Name, u.CreatedAt.Local().Format("2006-01-02 15:04:05")}) // as records shows times
	}
	return termsafe.WriteTable(c.stdout, rows)
}

// adminError turns an admin client error into one line that says what is
// wrong: the API's own message when it answered, "unreachable" when not.
func adminError(account string, err error) error {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Status == http.StatusUnauthorized:
			return fmt.Errorf("admin credentials refused (check --app-key/--app-secret): %s", apiErr.Message)
		case apiErr.Status == http.StatusNotFound && account != "":
			return fmt.Errorf("no such account %q", account)
		case apiErr.Status == http.StatusConflict && account != "":
			return fmt.Errorf("account %q already exists", account)
		}
		return fmt.Errorf("%s (HTTP %d)", apiErr.Message, apiErr.Status)
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return fmt.Errorf("the server's TLS certificate is not trusted (a self-signed CA needs --ca-file): %w", verr)
	}
	return fmt.Errorf("server unreachable: %w", err)
}

// localCredentials is what a local `serve` writes to <data>/credentials.json.
type localCredentials struct {
	AppKey    string `json:"appKey"`
	AppSecret string `json:"appSecret"`
}

// adminClient builds the admin API client from the configuration, falling
// back to the credentials a local serve wrote in its data directory.
func adminClient(cfg *Config) (*admin.Client, error) {
	server := cfg.Server
	if cfg.origin["server"] == "" {
		// No --server, SOFTPHONE_SERVER or server: the serve on the data
		// directory, which recorded where it listens.
		var err error
		if server, err = readServeAddr(cfg.Serve.Data); err != nil {
			return nil, err
		}
	}
	base, err := adminBaseURL(server)
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
	tlsCfg, err := cfg.clientTLS()
	if err != nil {
		return nil, err
	}
	return admin.NewClient(base, key, secret, cfg.httpClient(tlsCfg)), nil
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
