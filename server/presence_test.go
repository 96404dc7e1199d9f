package server_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/softphone/softphone/call/protocol"
)

// contactEntry returns the entry of account in a contacts reply.
func contactEntry(t *testing.T, cr protocol.ContactsReply, account string) protocol.Contact {
	t.Helper()
	for _, c := range cr.Contacts {
		if c.Account == account {
			return c
		}
	}
	t.Fatalf("%s not in contacts %+v", account, cr.Contacts)
	return protocol.Contact{}
}

// contactsOf asks c's contact list.
func contactsOf(c *wsClient) protocol.ContactsReply {
	var cr protocol.ContactsReply
	c.mustDo(protocol.ReqContacts, nil, &cr)
	return cr
}

// wantPresence waits for a PRESENCE event of account with presence p.
func wantPresence(t *testing.T, c *wsClient, account, p string) {
	t.Helper()
	var pe protocol.Presence
	if err := json.Unmarshal(c.event(protocol.EvPresence).Data, &pe); err != nil {
		t.Fatal(err)
	}
	if pe.Account != account || pe.Presence != p {
		t.Fatalf("PRESENCE %+v, want %s %s", pe, account, p)
	}
}

// TestPresenceNeedsConsent: adding an account as a contact shows nothing of
// it until it adds you back — the same answer whether it exists or not —
// and removing you ends what you see.
func TestPresenceNeedsConsent(t *testing.T) {
	srv := startServer(t, nil)
	ta, tb, tc := mustUser(t, srv, "alice"), mustUser(t, srv, "bob"), mustUser(t, srv, "carol")
	a := dial(t, srv)
	a.login("alice", ta, "a1")

	// Unknown and not-yet-accepting accounts answer alike: no 404, no
	// nickname, presence pending.
	var unknown, known protocol.ContactsReply
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "zed"}, &unknown)
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, &known)
	z, bo := contactEntry(t, unknown, "zed"), contactEntry(t, known, "bob")
	if z.Presence != protocol.PresencePending || z.NickName != "" || bo.Presence != z.Presence || bo.NickName != z.NickName {
		t.Fatalf("unknown %+v and not accepting %+v differ or show something", z, bo)
	}

	// bob comes online without having added alice: she learns nothing.
	b := dial(t, srv)
	b.login("bob", tb, "b1")
	a.quiet()
	cr := contactsOf(a)
	if c := contactEntry(t, cr, "bob"); c.Presence != protocol.PresencePending || c.NickName != "" {
		t.Fatalf("bob before accepting: %+v", c)
	}

	// bob adds alice back (accepts): both see each other from now on.
	cr = protocol.ContactsReply{}
	b.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "alice"}, &cr)
	if c := contactEntry(t, cr, "alice"); c.Presence != protocol.PresenceOnline || c.NickName != "Nick alice" {
		t.Fatalf("alice in bob's list after accepting: %+v", c)
	}
	wantPresence(t, a, "bob", protocol.PresenceOnline)
	if c := contactEntry(t, contactsOf(a), "bob"); c.Presence != protocol.PresenceOnline || c.NickName != "Nick bob" {
		t.Fatalf("bob after accepting: %+v", c)
	}
	c := dial(t, srv)
	c.login("carol", tc, "c1")
	cl := a.call("carol", protocol.CallAudio, 0) // alice in a call: bob sees it
	wantPresence(t, b, "alice", protocol.PresenceInCall)
	c.invite()
	c.mustDo(protocol.ReqReject, ref(cl.ChannelID), nil)
	wantPresence(t, b, "alice", protocol.PresenceOnline)
	a.peerEvent(protocol.EvUserReject)
	a.record()

	// bob removes alice: she sees him as pending again, and no more of him.
	b.mustDo(protocol.ReqContactRemove, protocol.ContactRef{Account: "alice"}, nil)
	wantPresence(t, a, "bob", protocol.PresencePending)
	b.mustDo(protocol.ReqLogout, nil, nil)
	if c := contactEntry(t, contactsOf(a), "bob"); c.Presence != protocol.PresencePending || c.NickName != "" {
		t.Fatalf("bob after removing alice: %+v", c)
	}
	a.quiet()

	// carol lists alice, alice does not list carol: carol learns nothing of
	// alice's logout either.
	cr = protocol.ContactsReply{}
	c.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "alice"}, &cr)
	if e := contactEntry(t, cr, "alice"); e.Presence != protocol.PresencePending {
		t.Fatalf("alice in carol's list: %+v", e)
	}
	c.record() // the rejected call's record
	a.mustDo(protocol.ReqLogout, nil, nil)
	c.quiet()
}

// TestPresenceOfRecreatedAccount: a contact list entry names an account,
// and consent is the new holder's to give: a recreated account that does
// not list you shows pending.
func TestPresenceOfRecreatedAccount(t *testing.T) {
	srv := startServer(t, nil)
	ta := mustUser(t, srv, "alice")
	mustUser(t, srv, "bob")
	if err := srv.AddContact(context.Background(), "bob", "alice"); err != nil {
		t.Fatal(err)
	}
	a := dial(t, srv)
	a.login("alice", ta, "a1")
	var cr protocol.ContactsReply
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, &cr)
	if c := contactEntry(t, cr, "bob"); c.Presence != protocol.PresenceOffline || c.NickName != "Nick bob" {
		t.Fatalf("mutual bob: %+v", c)
	}
	if err := adminClient(srv).RemoveUser(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	mustUser(t, srv, "bob")
	if c := contactEntry(t, contactsOf(a), "bob"); c.Presence != protocol.PresencePending || c.NickName != "" {
		t.Fatalf("recreated bob: %+v", c)
	}
}

// TestConsentEndsWithHolder: listing an account is consent to its holder.
// When the holder is removed, whoever gets the name next does not inherit
// it: adding alice back shows the new bob nothing of her until she adds
// him again.
func TestConsentEndsWithHolder(t *testing.T) {
	srv := startServer(t, nil)
	ctx := context.Background()
	ta, tb := mustUser(t, srv, "alice"), mustUser(t, srv, "bob")
	a, b := dial(t, srv), dial(t, srv)
	a.login("alice", ta, "a1")
	b.login("bob", tb, "b1")
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, nil)
	b.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "alice"}, nil)
	wantPresence(t, a, "bob", protocol.PresenceOnline)
	if c := contactEntry(t, contactsOf(b), "alice"); c.Presence != protocol.PresenceOnline {
		t.Fatalf("mutual alice: %+v", c)
	}

	if err := adminClient(srv).RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	b.event(protocol.EvSessionEnded)
	tb2 := mustUser(t, srv, "bob")
	b2 := dial(t, srv)
	b2.login("bob", tb2, "b2")
	var cr protocol.ContactsReply
	b2.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "alice"}, &cr)
	if c := contactEntry(t, cr, "alice"); c.Presence != protocol.PresencePending || c.NickName != "" {
		t.Fatalf("the new bob sees alice through the consent she gave the old one: %+v", c)
	}
	// alice's coming and going does not reach the new bob either.
	a.mustDo(protocol.ReqLogout, nil, nil)
	a.login("alice", ta, "a1")
	b2.quiet()
	// The new bob consented: alice, who still lists the name, sees him.
	if c := contactEntry(t, contactsOf(a), "bob"); c.Presence != protocol.PresenceOnline {
		t.Fatalf("bob (new, consenting) in alice's list: %+v", c)
	}

	// alice adds bob again: consent to the new holder.
	a.mustDo(protocol.ReqContactAdd, protocol.ContactRef{Account: "bob"}, nil)
	wantPresence(t, b2, "alice", protocol.PresenceOnline)
	if c := contactEntry(t, contactsOf(b2), "alice"); c.Presence != protocol.PresenceOnline || c.NickName != "Nick alice" {
		t.Fatalf("alice after adding the new bob: %+v", c)
	}
}
