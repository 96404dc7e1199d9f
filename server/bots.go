package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/bots"
	"github.com/softphone/softphone/server/store"
)

// botAccounts gives the bots their accounts straight from the store.
type botAccounts struct{ st *store.Store }

// EnsureAccount creates the bot's account, or takes over an existing one
// (bot names are reserved while bots run): its token becomes the derived
// bot token and its nickname the bot's. A bot is a public service: its
// presence is shown to everyone who lists it.
func (a botAccounts) EnsureAccount(ctx context.Context, account, nick, token string) error {
	hash := auth.HashToken(token)
	_, _, err := a.st.GetAccount(ctx, account)
	if store.IsNotFound(err) {
		err = a.st.CreateAccount(ctx, &store.Account{Account: account, Name: nick, TokenHash: hash,
			CreatedAt: time.Now().UTC(), PublicPresence: true})
		if err == nil || !store.IsConflict(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	_, err = a.st.UpdateAccount(ctx, account, func(acc *store.Account) error {
		acc.TokenHash, acc.Name, acc.PublicPresence = hash, nick, true
		return nil
	})
	return err
}

// startBots runs the configured bots against this server's own listener.
func (s *Server) startBots(ctx context.Context) error {
	if !s.cfg.Bots.Enabled {
		return nil
	}
	scheme, tlsCfg := "ws", (*tls.Config)(nil)
	if s.cert != nil {
		scheme, tlsCfg = "wss", pinned(s.cert)
	}
	r, err := bots.Start(ctx, s.cfg.Bots, bots.Deps{
		URL:      scheme + "://" + dialable(s.Addr()) + "/v1/ws",
		TLS:      tlsCfg,
		Accounts: botAccounts{s.st},
		Secret:   s.appSecret,
		NodeID:   s.cfg.NodeID,
		Logger:   s.log.With("component", "bots"),
	})
	if err != nil {
		return err
	}
	s.bots = r
	s.log.Info("bots running", "accounts", r.Names())
	return nil
}

// BotNames lists the accounts of the running bots (nil when none run).
func (s *Server) BotNames() []string {
	if s.bots == nil {
		return nil
	}
	return s.bots.Names()
}

// pinned is the TLS client configuration of the in-process bots: they dial
// a loopback address the certificate need not name, so instead of a CA and
// a host name they check that the server presents exactly this certificate.
func pinned(cert *tls.Certificate) *tls.Config {
	want := cert.Certificate[0]
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
				return errors.New("bots: the server presented another certificate than its own")
			}
			return nil
		},
	}
}

// dialable turns a wildcard listen address into the loopback address of the
// same family, which the in-process bots can dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
