package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"carenode/node/staff"
)

// readPassword returns a password: the first line of file ("-" is standard
// input), or, with no file, typed on the terminal without echo, twice when
// confirm is set so a typo does not lock someone out of patient data.
func readPassword(e *env, file, prompt string, confirm bool) ([]byte, error) {
	if file != "" {
		var r io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return nil, usageError{fmt.Errorf("password file: %w", err)}
			}
			defer f.Close()
			r = f
		}
		pw, err := staff.ReadPassword(r)
		if err != nil {
			return nil, fmt.Errorf("read password file %s: %w", file, err)
		}
		if len(pw) == 0 {
			return nil, usageError{fmt.Errorf("password file %s: the first line is empty / 密码文件第一行为空", file)}
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, usageError{fmt.Errorf("no terminal to ask for the password: give a password file (or - for standard input) / 没有终端可输入密码，请用密码文件（或 - 表示标准输入）")}
	}
	fmt.Fprintf(e.stderr, "%s: ", prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if !confirm {
		return pw, nil
	}
	fmt.Fprintf(e.stderr, "again / 再输入一次: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if !bytes.Equal(pw, again) {
		return nil, usageError{fmt.Errorf("the two passwords differ; nothing was changed / 两次输入的密码不一致，未做任何更改")}
	}
	clear(again)
	return pw, nil
}

// userLang is the language of the person at the terminal for messages that
// come in one language only (roster reports): English when the locale says
// so, Chinese otherwise.
func userLang() string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := os.Getenv(v); l != "" {
			if strings.HasPrefix(strings.ToLower(l), "en") {
				return "en"
			}
			return "zh"
		}
	}
	return "zh"
}
