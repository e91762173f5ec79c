// Package gsmsim plays a GSM modem on a line, for tests and demos: it
// answers AT commands as a real modem does (echo until ATE0, PDU mode,
// the "> " prompt of AT+CMGS, an unsolicited +CMTI before it), decodes
// every PDU it is sent with gsm.DecodeSubmit, joins concatenated parts as
// a phone does, and answers each AT+CMGS as its script says, so a test can
// make the network refuse, stall or lose a message on demand. Run it on
// one end of a socat pseudo-terminal pair and the real sender on the other.
package gsmsim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"carenode/devices/gsm"
)

// Script answers for one AT+CMGS; anything else is written as the answer
// line ("+CMS ERROR: 331", "ERROR").
const (
	Accept   = ""         // +CMGS: <ref>, OK
	Silent   = "silent"   // take the PDU, never answer
	NoPrompt = "noprompt" // never show the prompt
)

// Message is a whole SMS as the phone shows it.
type Message struct {
	To    string
	Text  string
	Parts int
	// Coding is gsm.DCS7Bit or gsm.DCSUCS2.
	Coding byte
}

// Modem is the simulated modem. Safe for concurrent use.
type Modem struct {
	mu       sync.Mutex
	script   []string
	parts    []gsm.Submit
	cmds     []string
	problems []string
	nextRef  int
	done     []Message
	partial  map[string]map[byte]gsm.Submit
}

// New returns a modem that answers the next AT+CMGS commands as script
// says, then accepts.
func New(script ...string) *Modem {
	return &Modem{script: script, nextRef: 17, partial: map[string]map[byte]gsm.Submit{}}
}

// Then appends answers to the script.
func (m *Modem) Then(answers ...string) {
	m.mu.Lock()
	m.script = append(m.script, answers...)
	m.mu.Unlock()
}

// Messages returns the messages received whole, in the order they were
// completed. A part received twice (a retried message) counts once.
func (m *Modem) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.done...)
}

// Parts returns every accepted part, as decoded.
func (m *Modem) Parts() []gsm.Submit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gsm.Submit(nil), m.parts...)
}

// Commands returns the AT commands received.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cmds...)
}

// Problems lists what the modem found wrong in what it was sent (a PDU
// that does not decode, a length that does not match); a test wants none.
func (m *Modem) Problems() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.problems...)
}

// Serve answers on rw until a read fails (the line closed).
func (m *Modem) Serve(rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	say := func(s string) { io.WriteString(rw, s) }
	echo, pdu := true, false
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return err
		}
		// ESC outside PDU input does nothing on a modem (a sender that
		// gave up waiting for the prompt sends one).
		cmd := strings.TrimSpace(strings.ReplaceAll(line, "\x1b", ""))
		if cmd == "" {
			continue
		}
		if echo {
			say(line)
		}
		m.mu.Lock()
		m.cmds = append(m.cmds, cmd)
		m.mu.Unlock()
		switch {
		case cmd == "AT" || cmd == "AT+CMEE=1":
			say("\r\nOK\r\n")
		case cmd == "ATE0":
			echo = false
			say("\r\nOK\r\n")
		case cmd == "AT+CMGF=0":
			pdu = true
			say("\r\nOK\r\n")
		case strings.HasPrefix(cmd, "AT+CMGS="):
			n, err := strconv.Atoi(strings.TrimPrefix(cmd, "AT+CMGS="))
			if !pdu || err != nil {
				say("\r\nERROR\r\n")
				continue
			}
			if err := m.cmgs(r, say, n); err != nil {
				return err
			}
		default:
			say("\r\nERROR\r\n")
		}
	}
}

// cmgs takes one PDU after the prompt and answers as scripted.
func (m *Modem) cmgs(r *bufio.Reader, say func(string), n int) error {
	m.mu.Lock()
	act := Accept
	if len(m.script) > 0 {
		act, m.script = m.script[0], m.script[1:]
	}
	m.mu.Unlock()
	if act == NoPrompt {
		return nil
	}
	say("\r\n+CMTI: \"SM\",3\r\n\r\n> ")
	body, err := r.ReadString(0x1A)
	if err != nil {
		return err
	}
	body = strings.TrimSuffix(body, "\x1a")
	if strings.IndexByte(body, 0x1B) >= 0 {
		return nil // the sender aborted the input
	}
	sub, err := gsm.DecodeSubmitHex(body)
	if err != nil {
		m.problem("bad PDU %q: %v", body, err)
		say("\r\n+CMS ERROR: 304\r\n")
		return nil
	}
	if want := len(body)/2 - 1; n != want { // the empty SMSC address is one octet
		m.problem("AT+CMGS=%d for a TPDU of %d octets", n, want)
	}
	switch act {
	case Accept:
		m.mu.Lock()
		m.accept(sub)
		m.nextRef = (m.nextRef + 1) % 256
		ref := m.nextRef
		m.mu.Unlock()
		say(fmt.Sprintf("\r\n+CMGS: %d\r\n\r\nOK\r\n", ref))
	case Silent:
	default:
		say("\r\n" + act + "\r\n")
	}
	return nil
}

func (m *Modem) problem(format string, args ...any) {
	m.mu.Lock()
	m.problems = append(m.problems, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// accept files a part and completes its message when all parts are in.
// Called with mu held.
func (m *Modem) accept(p gsm.Submit) {
	m.parts = append(m.parts, p)
	if p.Total == 0 {
		m.done = append(m.done, Message{To: p.To, Text: p.Text, Parts: 1, Coding: p.DCS})
		return
	}
	key := fmt.Sprintf("%s/%d/%d", p.To, p.Ref, p.Total)
	got := m.partial[key]
	if got == nil {
		got = map[byte]gsm.Submit{}
		m.partial[key] = got
	}
	got[p.Seq] = p
	if len(got) < int(p.Total) {
		return
	}
	parts := make([]gsm.Submit, 0, len(got))
	for _, q := range got {
		parts = append(parts, q)
	}
	delete(m.partial, key)
	text, err := gsm.Join(parts)
	if err != nil {
		m.problems = append(m.problems, err.Error())
		return
	}
	m.done = append(m.done, Message{To: p.To, Text: text, Parts: int(p.Total), Coding: p.DCS})
}
