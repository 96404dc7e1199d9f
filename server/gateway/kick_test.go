package gateway

import "testing"

// TestKickOrder checks that a device kick closes only older logins of the
// device, whatever order the kick and the login's own revision arrive in.
func TestKickOrder(t *testing.T) {
	alice := identity{account: "alice", device: "d1"}
	tests := []struct {
		name      string
		id        identity
		loginRev  uint64 // 0: the login has not written presence yet
		kickRev   uint64
		kickFor   identity
		wantClose bool
		// for loginRev == 0: the revision the login writes afterwards and
		// whether setLoginRevision then reports it superseded
		laterRev       uint64
		wantSuperseded bool
	}{
		{name: "older login closes", id: alice, loginRev: 5, kickRev: 9, kickFor: alice, wantClose: true},
		{name: "stale kick spares newer login", id: alice, loginRev: 9, kickRev: 5, kickFor: alice},
		{name: "other device untouched", id: alice, loginRev: 5, kickRev: 9, kickFor: identity{account: "alice", device: "d2"}},
		{name: "other account untouched", id: alice, loginRev: 5, kickRev: 9, kickFor: identity{account: "bob", device: "d1"}},
		{name: "logged out untouched", id: identity{}, loginRev: 0, kickRev: 9, kickFor: alice},
		{name: "unordered kick closes", id: alice, loginRev: 9, kickRev: 0, kickFor: alice, wantClose: true},
		{name: "newer kick before own revision", id: alice, kickRev: 9, kickFor: alice, laterRev: 5, wantSuperseded: true},
		{name: "older kick before own revision", id: alice, kickRev: 5, kickFor: alice, laterRev: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &session{}
			if tt.id.account != "" {
				s.beginLogin(tt.id)
			}
			if tt.loginRev != 0 && s.setLoginRevision(tt.loginRev) {
				t.Fatal("fresh login reported superseded")
			}
			if got := s.kickedBy(tt.kickFor.account, tt.kickFor.device, tt.kickRev); got != tt.wantClose {
				t.Fatalf("kickedBy = %v, want %v", got, tt.wantClose)
			}
			if tt.laterRev != 0 {
				if got := s.setLoginRevision(tt.laterRev); got != tt.wantSuperseded {
					t.Fatalf("setLoginRevision = %v, want %v", got, tt.wantSuperseded)
				}
			}
		})
	}
}
