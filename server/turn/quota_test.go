package turn

import (
	"strings"
	"testing"
)

// TestAllocationQuota: one account holds at most MaxAllocationsPerAccount
// allocations (486 past it); another account is not affected, and a freed
// allocation makes room again.
func TestAllocationQuota(t *testing.T) {
	creds := NewCredentials("app-secret", 0)
	s := startRelay(t, creds)
	alice, _ := s.ICEServers("alice", "E1")
	bob, _ := s.ICEServers("bob", "E1")
	var last interface{ Close() error }
	for i := 0; i < MaxAllocationsPerAccount; i++ {
		relay, err := allocate(t, s, alice[0].Username, alice[0].Credential)
		if err != nil {
			t.Fatalf("allocation %d: %v", i+1, err)
		}
		last = relay
	}
	if relay, err := allocate(t, s, alice[0].Username, alice[0].Credential); err == nil {
		_ = relay.Close()
		t.Fatalf("allocation %d past the quota succeeded", MaxAllocationsPerAccount+1)
	} else if !strings.Contains(err.Error(), "486") {
		t.Fatalf("refused for another reason than 486 Allocation Quota Reached: %v", err)
	}
	if _, err := allocate(t, s, bob[0].Username, bob[0].Credential); err != nil {
		t.Fatalf("another account's allocation: %v", err)
	}
	// Closing a relayed connection deletes its allocation (a refresh with
	// lifetime 0): the account may allocate again.
	if err := last.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := allocate(t, s, alice[0].Username, alice[0].Credential); err != nil {
		t.Fatalf("allocation after one was freed: %v", err)
	}
}
