package ui

import (
	"slices"
	"strings"

	"github.com/softphone/softphone/call/protocol"
)

// sortContacts puts recent peers first (newest call first), the others
// after them by name.
func (m *Model) sortContacts() {
	slices.SortStableFunc(m.contacts, func(a, b protocol.Contact) int {
		ra, rb := m.recent[a.Account], m.recent[b.Account]
		if ra != rb {
			if ra > rb {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(contactName(a)), strings.ToLower(contactName(b)))
	})
	m.syncCursors()
}

func contactName(c protocol.Contact) string {
	if c.NickName != "" {
		return c.NickName
	}
	return c.Account
}

// visibleContacts applies the filter: a case-insensitive substring of the
// account or the nickname.
func (m *Model) visibleContacts() []protocol.Contact {
	f := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	if f == "" {
		return m.contacts
	}
	var out []protocol.Contact
	for _, c := range m.contacts {
		if strings.Contains(strings.ToLower(c.Account), f) || strings.Contains(strings.ToLower(c.NickName), f) {
			out = append(out, c)
		}
	}
	return out
}

func (m *Model) selectedContact() (protocol.Contact, bool) {
	list := m.visibleContacts()
	if len(list) == 0 {
		return protocol.Contact{}, false
	}
	i := min(max(m.cursor, 0), len(list)-1)
	return list[i], true
}

// selectContact moves the contact cursor to row i of the visible list and
// remembers whose row it is.
func (m *Model) selectContact(i int) {
	list := m.visibleContacts()
	if len(list) == 0 {
		m.cursor, m.selAccount = 0, ""
		return
	}
	m.cursor = min(max(i, 0), len(list)-1)
	m.selAccount = list[m.cursor].Account
}

// selectRecord is selectContact for the history.
func (m *Model) selectRecord(i int) {
	if len(m.records) == 0 {
		m.hcursor, m.selChannel = 0, ""
		return
	}
	m.hcursor = min(max(i, 0), len(m.records)-1)
	m.selChannel = m.records[m.hcursor].ChannelID
}

// syncCursors puts the cursors back on the contact and record they were
// on after the lists changed order or content (a call re-sorts the
// contacts, a new record goes on top). A selection that is gone keeps the
// row; before the user picked anything the cursors stay on the first row.
func (m *Model) syncCursors() {
	row := 0
	if m.selPinned {
		row = m.cursor
		for i, c := range m.visibleContacts() {
			if c.Account == m.selAccount {
				row = i
				break
			}
		}
	}
	m.selectContact(row)
	row = 0
	if m.hselPinned {
		row = m.hcursor
		for i, r := range m.records {
			if r.ChannelID == m.selChannel && r.ChannelID != "" {
				row = i
				break
			}
		}
	}
	m.selectRecord(row)
}
