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
