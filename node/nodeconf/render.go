package nodeconf

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// fileTemplate is the layout of a rendered config file. Defaults in the
// comments come from Default, so they cannot drift from the code.
const fileTemplate = `# carenode node configuration.
#
# Lines starting with # are comments. A key you delete takes its default.
# Durations are a number and a unit, like "500ms", "30s", "10m" or "2h".

[node]
# The name people see for this node on other nodes and in reports:
# 1 to 64 printable characters. Required.
name = {{q .F.Node.Name}}

# The job this node does: {{.Roles}}. Required.
role = {{q .F.Node.Role}}

[http]
# Address and port the HTTP API listens on, as "host:port".
# 127.0.0.1 accepts connections from this computer only; an empty host,
# like ":7420", accepts them on every network interface.
# Default: {{q .D.HTTP.Listen}}.
listen = {{q .F.HTTP.Listen}}

# Largest request body accepted, in bytes; bigger requests are refused.
# Default: {{.D.HTTP.MaxBodyBytes}}.
max_body_bytes = {{.F.HTTP.MaxBodyBytes}}

# Longest time allowed to read a whole request. Default: {{q .D.HTTP.ReadTimeout}}.
read_timeout = {{q .F.HTTP.ReadTimeout}}

# Longest time allowed to write a whole response. Default: {{q .D.HTTP.WriteTimeout}}.
write_timeout = {{q .F.HTTP.WriteTimeout}}

[store]
# Most writes committed together in one transaction. Bigger batches mean
# fewer disk flushes when many writes arrive at once. Default: {{.D.Store.MaxBatch}}.
max_batch = {{.F.Store.MaxBatch}}

# How far another node's clock may pull this node's clock ahead. A change
# stamped further in the future is still kept, but this node's clock does
# not follow it past now + this bound, and a warning is logged.
# Default: {{q .D.Store.MaxClockSkew}}.
max_clock_skew = {{q .F.Store.MaxClockSkew}}

# Skip flushing writes to disk. Only for benchmarks: with true, a power cut
# loses writes that were already acknowledged. Default: {{.D.Store.NoSync}}.
no_sync = {{.F.Store.NoSync}}

[log]
# Least severe messages written: "debug", "info", "warn" or "error".
# Default: {{q .D.Log.Level}}.
level = {{q .F.Log.Level}}

# "text" or "json"; "auto" writes text on a terminal and JSON otherwise.
# Default: {{q .D.Log.Format}}.
format = {{q .F.Log.Format}}
`

// Render returns f as a commented TOML file that Load reads back as f.
// go-toml cannot emit comments, hence the template.
func Render(f File) []byte {
	// The template is a constant, so a parse error is a bug caught by
	// every test that renders.
	tmpl := template.Must(template.New("config").Funcs(template.FuncMap{
		// fmt.Sprint uses Duration.String and the plain text of the
		// string types.
		"q": func(v any) string { return quote(fmt.Sprint(v)) },
	}).Parse(fileTemplate))

	roles := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		roles = append(roles, quote(string(r)))
	}
	data := struct {
		F, D  File
		Roles string
	}{
		F:     f,
		D:     Default("", ""),
		Roles: strings.Join(roles[:len(roles)-1], ", ") + " or " + roles[len(roles)-1],
	}

	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		// Only a template bug gets here: every value is a plain field.
		panic(fmt.Sprintf("nodeconf: render: %v", err))
	}
	return buf.Bytes()
}

// quote returns s as a TOML basic string. strconv.Quote is not suitable:
// Go escapes such as \x41 and \a are not valid TOML.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
