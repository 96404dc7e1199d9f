package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/softphone/softphone/server/admin"
)

// The cluster bench (`softphone bench cluster`, issue 14) runs what the fault
// figures in docs/benchmarks.md need with real processes: three nats-server
// nodes with JetStream, two `serve --nats` nodes on them with R3 storage, and
// protocol clients in this process. It measures refusals from stale reads
// over many cross-node calls, and what killing a NATS node costs call setups.

// ClusterPlan configures one run.
type ClusterPlan struct {
	Exe        string   // the softphone binary (runs serve)
	NATSServer string   // the nats-server binary
	Calls      int      // cross-node calls of the stale-read run (1,000)
	Parallel   int      // pairs calling at once in it
	Rate       float64  // call setups per second during the fault runs
	Faults     []string // fault runs, in order (see faultRuns)
	KeepDir    bool
}

// bench cluster's fixed settings.
const (
	clusterNodes   = 3
	streamsCurrent = 60 * time.Second // wait for every replica to catch up
	faultLead      = 3 * time.Second  // load before the fault
	faultWindow    = 25 * time.Second // load after the fault
	slowSetup      = 250 * time.Millisecond
)

// natsNode is one nats-server process of the cluster.
type natsNode struct {
	name                 string
	port, cport, monPort int
	dir                  string
	cmd                  *exec.Cmd
	log                  *os.File
}

func (n *natsNode) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// launch starts the process; a node is healthy only once the cluster has
// a JetStream meta leader (see healthy).
func (n *natsNode) launch(ctx context.Context, exe, routes string) error {
	args := []string{"-js", "-n", n.name, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-m", strconv.Itoa(n.monPort),
		"-sd", n.dir, "--cluster_name", "bench", "--cluster", "nats://127.0.0.1:" + strconv.Itoa(n.cport), "--routes", routes}
	n.cmd = exec.CommandContext(ctx, exe, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	return nil
}

func (n *natsNode) healthy(ctx context.Context) error {
	return waitHealthy(ctx, "http://127.0.0.1:"+strconv.Itoa(n.monPort)+"/healthz", 60*time.Second)
}

// start launches a node into a running cluster.
func (n *natsNode) start(ctx context.Context, exe, routes string) error {
	if err := n.launch(ctx, exe, routes); err != nil {
		return err
	}
	return n.healthy(ctx)
}

// kill ends the node with sig (SIGKILL: a crash; SIGTERM: a clean stop).
func (n *natsNode) kill(sig syscall.Signal) {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(sig)
	_ = n.cmd.Wait()
	n.cmd = nil
}

// clusterEnv is the running cluster with its two serve nodes.
type clusterEnv struct {
	nodes  []*natsNode
	serves []*exec.Cmd
	urls   []string // WebSocket URLs of the serve nodes
	admin  *admin.Client
	js     jetstream.JetStream // for leader look-ups
	routes string
	exe    string
	dir    string
}

func freePort() (int, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := strings.Cut(addr, ":")
	return strconv.Atoi(port)
}

func startCluster(ctx context.Context, p ClusterPlan, dir string, out io.Writer) (*clusterEnv, error) {
	env := &clusterEnv{exe: p.NATSServer, dir: dir}
	var routes []string
	for i := range clusterNodes {
		n := &natsNode{name: "n" + strconv.Itoa(i+1), dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		for _, port := range []*int{&n.port, &n.cport, &n.monPort} {
			var err error
			if *port, err = freePort(); err != nil {
				return env, err
			}
		}
		f, err := os.Create(filepath.Join(dir, n.name+".log"))
		if err != nil {
			return env, err
		}
		n.log = f
		env.nodes = append(env.nodes, n)
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(n.cport))
	}
	env.routes = strings.Join(routes, ",")
	for _, n := range env.nodes {
		if err := n.launch(ctx, p.NATSServer, env.routes); err != nil {
			return env, err
		}
	}
	for _, n := range env.nodes {
		if err := n.healthy(ctx); err != nil {
			return env, err
		}
	}
	nc, err := nats.Connect(env.natsURLs())
	if err != nil {
		return env, err
	}
	if env.js, err = jetstream.New(nc); err != nil {
		return env, err
	}
	// serve i runs on NATS node i only (it learns the others), so killing
	// node 1 is "the NATS node under serve 1 dies".
	for i := range 2 {
		addr, err := freeAddr()
		if err != nil {
			return env, err
		}
		logF, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve%d.log", i+1)))
		if err != nil {
			return env, err
		}
		cmd := exec.CommandContext(ctx, p.Exe, "serve", "--listen", addr, "--nats", env.nodes[i].url(),
			"--app-key", benchAppKey, "--app-secret", benchAppSecret, "--turn-listen", "off")
		cmd.Dir, cmd.Env, cmd.Stderr = dir, childEnv(dir), logF
		if err := cmd.Start(); err != nil {
			return env, fmt.Errorf("start serve: %w", err)
		}
		env.serves = append(env.serves, cmd)
		if err := waitHealthy(ctx, "http://"+addr+"/healthz", 90*time.Second); err != nil {
			return env, err
		}
		env.urls = append(env.urls, "ws://"+addr+"/v1/ws")
		if i == 0 {
			env.admin = admin.NewClient("http://"+addr, benchAppKey, benchAppSecret, nil)
		}
	}
	fmt.Fprintf(out, "cluster: 3 nats-server nodes (JetStream, R3), 2 serve nodes, data in %s\n", dir)
	return env, nil
}

func (e *clusterEnv) natsURLs() string {
	var urls []string
	for _, n := range e.nodes {
		urls = append(urls, n.url())
	}
	return strings.Join(urls, ",")
}

func (e *clusterEnv) stop() {
	for _, s := range e.serves {
		_ = s.Process.Signal(os.Interrupt)
		_ = s.Wait()
	}
	if e.js != nil {
		e.js.Conn().Close()
	}
	for _, n := range e.nodes {
		n.kill(syscall.SIGTERM)
		if n.log != nil {
			_ = n.log.Close()
		}
	}
}

// softphone's streams, as serve creates them.
var clusterStreams = []string{"KV_accounts", "KV_channels", "KV_busy", "KV_presence", "KV_nodes", "KV_nonces", "KV_meta", "records"}

// settle waits until every stream has a leader and all replicas current.
func (e *clusterEnv) settle(ctx context.Context) error {
	deadline := time.Now().Add(streamsCurrent)
	for {
		err := e.eachStream(ctx, func(name string, c *jetstream.ClusterInfo) error {
			if c == nil || c.Leader == "" {
				return fmt.Errorf("%s has no leader", name)
			}
			for _, r := range c.Replicas {
				if !r.Current || r.Offline {
					return fmt.Errorf("%s: %s not current", name, r.Name)
				}
			}
			if len(c.Replicas) != clusterNodes-1 {
				return fmt.Errorf("%s has %d followers", name, len(c.Replicas))
			}
			return nil
		})
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *clusterEnv) eachStream(ctx context.Context, f func(name string, c *jetstream.ClusterInfo) error) error {
	for _, name := range clusterStreams {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := e.js.Stream(sctx, name)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(sctx); err == nil {
				err = f(name, info.Cluster)
			}
		}
		cancel()
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

// placeLeaders moves stream leaders until leads(stream) holds for every
// stream, by asking the current leader to step down in favour of one.
func (e *clusterEnv) placeLeaders(ctx context.Context, want func(stream string) string) error {
	for range 20 {
		moved := false
		err := e.eachStream(ctx, func(name string, c *jetstream.ClusterInfo) error {
			if target := want(name); target != "" && c.Leader != target {
				moved = true
				body := fmt.Sprintf(`{"placement":{"preferred":%q}}`, target)
				_, err := e.js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+name, []byte(body))
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !moved {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
		if err := e.settle(ctx); err != nil {
			return err
		}
	}
	return errors.New("stream leaders would not move where wanted")
}

func (e *clusterEnv) node(name string) *natsNode {
	for _, n := range e.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// RunCluster starts the cluster, runs the stale-read calls and the fault
// runs, and writes the figures to out.
func RunCluster(ctx context.Context, p ClusterPlan, out io.Writer) error {
	dir, err := os.MkdirTemp("", "softphone-bench-cluster-")
	if err != nil {
		return err
	}
	if !p.KeepDir {
		defer os.RemoveAll(dir)
	}
	env, err := startCluster(ctx, p, dir, out)
	defer env.stop()
	if err != nil {
		return err
	}
	if err := env.settle(ctx); err != nil {
		return err
	}
	pairs := max(p.Parallel, int(p.Rate))
	creds, err := createAccounts(ctx, env.admin, 2*pairs)
	if err != nil {
		return err
	}
	if p.Calls > 0 {
		if err := staleReads(ctx, env, creds, p, out); err != nil {
			return err
		}
	}
	for _, name := range p.Faults {
		f, ok := faultRuns[name]
		if !ok {
			return fmt.Errorf("unknown fault %q", name)
		}
		if err := runFault(ctx, env, creds, p.Rate, name, f, out); err != nil {
			return fmt.Errorf("fault %s: %w", name, err)
		}
	}
	return nil
}
