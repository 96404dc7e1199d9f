package main

import (
	"io"

	"github.com/softphone/softphone/internal/termsafe"
)

// writeJSONLine writes one encoded JSON value and a newline. encoding/json
// leaves C1 controls and bidi overrides raw; they are escaped, so a
// terminal shows the JSON as text whatever the values hold.
func writeJSONLine(w io.Writer, b []byte) error {
	_, err := w.Write(append(termsafe.JSON(b), '\n'))
	return err
}
