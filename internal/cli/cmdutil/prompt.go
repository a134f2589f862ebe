package cmdutil

import (
	"bufio"
	"fmt"
	"strings"
)

// Confirm asks a yes/no question on the terminal; anything but y or yes is
// no. Callers check CanPrompt first and require --yes otherwise.
func Confirm(s *IO, question string) (bool, error) {
	fmt.Fprintf(s.ErrOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
