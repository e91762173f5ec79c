package nodeconf

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"carenode/node/atomicfile"
)

// configMode lets other users read the file: it holds no secrets, and
// support staff often need to read it.
const configMode = 0o644

// Load reads the config file at path. Keys left out take the values of
// Default. Every unknown key gives an error wrapping ErrUnknownKey that
// names the key and its line. The result is validated: invalid values give
// a joined error of *ValueError, one per problem, so a person can fix them
// all in one pass. A syntax error, or a value of the wrong kind (text where
// a number belongs, a duration that does not parse), stops the reading and
// is reported alone, with its line when go-toml knows it.
func Load(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data)
}

// parse decodes and validates data read from path; path only labels
// errors.
func parse(path string, data []byte) (File, error) {
	f := Default("", "")
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, decodeError(path, data, err)
	}
	f.Devices.fillSerialDefaults()
	if err := f.Validate(); err != nil {
		return File{}, fmt.Errorf("config %s: %w", path, bilingual{err})
	}
	return f, nil
}

// bilingual shows each problem of a joined Validate error in English and,
// where it has a Chinese sentence, in Chinese after a "/": a config error
// reaches a person through the CLI, which has no request language to pick
// one by.
type bilingual struct{ err error }

func (b bilingual) Error() string {
	problems := []error{b.err}
	if j, ok := b.err.(interface{ Unwrap() []error }); ok {
		problems = j.Unwrap()
	}
	lines := make([]string, 0, len(problems))
	for _, p := range problems {
		line := p.Error()
		if ve, ok := p.(*ValueError); ok && ve.AllowedZh != "" {
			line += " / " + ve.AllowedZh
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (b bilingual) Unwrap() error { return b.err }

// decodeError turns a go-toml error into one that names the file, line
// and key, in the "file:line:" form editors understand, and says what the
// key needs in words rather than Go types.
func decodeError(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		errs := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			errs = append(errs, fmt.Errorf("config %s:%d: %w %q%s",
				path, row, ErrUnknownKey, strings.Join(e.Key(), "."), knownKeysHint(e.Key())))
		}
		return errors.Join(errs...)
	}

	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		if ve := valueProblem(data, de.Key(), err); ve != nil {
			return fmt.Errorf("config %s:%d:%d: %w", path, row, col, ve)
		}
		msg := fmt.Sprintf("config %s:%d:%d: ", path, row, col)
		if key := de.Key(); len(key) > 0 {
			msg += strings.Join(key, ".") + ": "
		}
		return &wrappedError{msg: msg + strings.TrimPrefix(de.Error(), "toml: "), err: err}
	}

	// go-toml passes on, without a position, the error of a
	// TextUnmarshaler given a number or boolean, as when a duration is
	// written without quotes. Find the key by reading the file again.
	if errors.Is(err, ErrInvalidValue) {
		if ve := valueProblem(data, unquotedDuration(data), err); ve != nil {
			return fmt.Errorf("config %s: %w", path, ve)
		}
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// wrappedError carries a reworded message while keeping the original
// error for errors.Is and errors.As.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// valueProblem describes the value at key in data as a *ValueError, with
// cause as its Err. It returns nil if key is not a known value key or
// cannot be found in data.
//
// go-toml's own wording of such errors names Go types, which mean nothing
// to the person editing the file, and does not show the value.
func valueProblem(data []byte, key []string, cause error) *ValueError {
	want := expectation(key)
	if want == "" {
		return nil
	}
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var v any = doc
	for _, part := range key {
		table, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = table[part]; !ok {
			return nil
		}
	}
	value := fmt.Sprint(v)
	if s, ok := v.(string); ok {
		value = quote(s)
	}
	return &ValueError{Key: strings.Join(key, "."), Value: value, Allowed: want, Err: cause}
}

// unquotedDuration returns the key of the first duration in data whose
// value is not a string, or nil if there is none.
func unquotedDuration(data []byte) []string {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return nil
	}
	sections := reflect.TypeFor[File]()
	for i := range sections.NumField() {
		section := sections.Field(i)
		table, _ := doc[tagName(section)].(map[string]any)
		for j := range section.Type.NumField() {
			field := section.Type.Field(j)
			if field.Type != reflect.TypeFor[Duration]() {
				continue
			}
			if v, ok := table[tagName(field)]; ok {
				if _, isString := v.(string); !isString {
					return []string{tagName(section), tagName(field)}
				}
			}
		}
	}
	return nil
}

// expectation describes, for a person, what kind of value key needs, or
// returns "" if key is not a known value.
func expectation(key []string) string {
	if len(key) == 0 {
		return ""
	}
	t := reflect.TypeFor[File]()
	for _, part := range key {
		if t.Kind() != reflect.Struct {
			return ""
		}
		field, ok := fieldByTag(t, part)
		if !ok {
			return ""
		}
		t = field.Type
	}
	switch {
	case t == reflect.TypeFor[Duration]():
		return `must be a number and a unit in quotes, like "30s", "10m" or "1h"`
	case t.Kind() == reflect.String:
		return "must be text in quotes"
	case t.Kind() == reflect.Bool:
		return "must be true or false, without quotes"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "must be a whole number, without quotes"
	case t.Kind() == reflect.Struct:
		return fmt.Sprintf("must be a section, started by [%s] on a line of its own", strings.Join(key, "."))
	case t.Kind() == reflect.Slice:
		return "must be a list of { } tables, like [{ key = value }, { key = value }]"
	}
	return ""
}

// knownKeysHint lists the keys valid where an unknown key was found, to
// help a person spot the typo.
func knownKeysHint(key []string) string {
	t := reflect.TypeFor[File]()
	// Walk down to the table holding the unknown key.
	for _, part := range key[:len(key)-1] {
		field, ok := fieldByTag(t, part)
		if ok && field.Type.Kind() == reflect.Slice {
			field.Type = field.Type.Elem() // a key inside one of a list's tables
		}
		if !ok || field.Type.Kind() != reflect.Struct {
			return ""
		}
		t = field.Type
	}
	var names []string
	for i := range t.NumField() {
		names = append(names, tagName(t.Field(i)))
	}
	if len(key) == 1 {
		return fmt.Sprintf(" (sections are [%s])", strings.Join(names, "], ["))
	}
	return fmt.Sprintf(" (keys in [%s] are %s)", strings.Join(key[:len(key)-1], "."), strings.Join(names, ", "))
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if tagName(t.Field(i)) == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// WriteNew validates f and writes it to path as Render does, atomically:
// after a crash there is either no file or a complete one. It never
// replaces an existing file; it returns an error wrapping ErrConfigExists
// instead.
func WriteNew(path string, f File) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := atomicfile.WriteNew(path, Render(f), configMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write config %s: %w", path, ErrConfigExists)
		}
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}
