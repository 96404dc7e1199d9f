package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// clientTLS is the TLS configuration of the client commands for wss://
// and https:// servers: the system's roots, plus the CA certificates of
// caFile (a team's own CA, or a self-signed server certificate). nil when
// caFile is not set.
func (c *Config) clientTLS() (*tls.Config, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// httpClient is an HTTP client for the server's https:// endpoints
// (admin API, /healthz) that trusts caFile too.
func (c *Config) httpClient(tc *tls.Config) *http.Client {
	hc := &http.Client{Timeout: adminTimeout}
	if tc != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		hc.Transport = t
	}
	return hc
}
