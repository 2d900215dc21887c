package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// parseFlags parses args, turning a flag error into a usage error. Flags
// may come before, between or after the positional arguments (soundalike
// import plays.csv --db w.db), as people type them; after "--" every
// argument is positional. fs.Args then holds the positional arguments in
// their order.
//
// Each flag may be given once: a second --track would otherwise quietly
// replace the first (a list flag takes its entries comma-separated). A
// flag whose Value is a listValue (--exclude) is the exception: each time
// adds its entries to the list, as the HTTP API repeats a parameter.
// A refused flag value is reported in one line naming the flag, the value
// and what the flag takes, with a pointer to the command's -h; the usage
// is printed only when asked for (-h), not under an error it would bury.
// An empty --db is refused for every command that has one (checkDBFlag).
func parseFlags(fs *flag.FlagSet, args []string) error {
	p := watchFlags(fs)
	if err := p.checkValues(args); err != nil {
		p.restore()
		return err
	}
	// Parse prints its error and the usage on every error, and the usage
	// on -h: parseFlags reports the error, and prints the usage for -h.
	usage, output := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	help := false
	defer func() {
		p.restore() // PrintDefaults shows each flag's own Value
		fs.Usage = usage
		fs.SetOutput(output)
		if help {
			usage()
		}
	}()
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help = true // printed once restored (the deferred func)
				return err
			}
			return p.usageError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse stops at the first positional argument, or consumes a
		// "--" and stops after it.
		if parsed := args[:len(args)-len(rest)]; len(parsed) > 0 && parsed[len(parsed)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if len(positional) > 0 {
		// Parsing "--" and the positional arguments sets fs.Args to them.
		if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
			return err
		}
	}
	return checkDBFlag(fs)
}

// flagParse is one parseFlags call's watch over fs's flags: while it
// lasts, each flag's Value is a onceValue wrapping the flag's own.
type flagParse struct {
	fs *flag.FlagSet
	// values are the flags' own Values, by name.
	values map[string]flag.Value
	// refused is the error of the flag whose Set failed, in the words
	// parseFlags reports; Parse stops at that flag.
	refused error
}

// watchFlags wraps each of fs's flags in a onceValue.
func watchFlags(fs *flag.FlagSet) *flagParse {
	p := &flagParse{fs: fs, values: map[string]flag.Value{}}
	fs.VisitAll(func(f *flag.Flag) {
		p.values[f.Name] = f.Value
		f.Value = &onceValue{Value: f.Value, flag: f, parse: p}
	})
	return p
}

// restore gives each flag its own Value back, so that code after
// parseFlags sees the Values it defined; a second call changes nothing.
func (p *flagParse) restore() {
	p.fs.VisitAll(func(f *flag.Flag) {
		if v, ok := p.values[f.Name]; ok {
			f.Value = v
		}
	})
}

// usageError returns the usage error of err, Parse's error: the refusal
// a onceValue recorded, or else Parse's own (an undefined flag, a flag
// without its value) with the flag spelt as the manual spells it, then
// where the command's flags are listed.
func (p *flagParse) usageError(err error) error {
	msg := err.Error()
	if p.refused != nil {
		msg = p.refused.Error()
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		msg = flagName(name) + " needs a value"
		if f := p.fs.Lookup(name); f != nil {
			if _, usage := flag.UnquoteUsage(f); usage != "" {
				msg += " (" + usage + ")"
			}
		}
	} else if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = fmt.Sprintf("%s is not a flag of soundalike %s", flagName(name), p.fs.Name())
	} else if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		msg = fmt.Sprintf("%s: a flag is -NAME or --NAME (and =VALUE, or VALUE next)", quoteText(arg))
	}
	return usagef("%s\n%s", msg, flagsPointer(p.fs))
}

// flagsPointer is the line that ends a usage error about a flag: where
// the flags of fs's command are listed.
func flagsPointer(fs *flag.FlagSet) string {
	return fmt.Sprintf("Run `soundalike %s -h` for the command's flags.", fs.Name())
}

// refuseFlag returns the usage error of value, the value of fs's flag
// name (as the command holds it: a flag.Func's Value does not say it),
// that parsed but that the command refuses once parsed (a number out of
// its range, a word not among its choices), want saying what the flag
// takes ("want 1..1000"): worded as parseFlags words a value the flag's
// Value refuses, the flag, its value quoted and what it takes, then the
// same pointer to the command's flags.
func refuseFlag(fs *flag.FlagSet, name string, value any, want string, a ...any) error {
	return refuseFlags(fs, []string{flagRefusal(name, value, want, a...)})
}

// flagRefusal is the line of refuseFlag's error that names the flag,
// its value and what it takes, for refuseFlags.
func flagRefusal(name string, value any, want string, a ...any) string {
	return fmt.Sprintf("%s %s: %s", flagName(name), quoteText(fmt.Sprint(value)), fmt.Sprintf(want, a...))
}

// refuseFlags is refuseFlag of several flags at once, for a command that
// reports every flag out of range rather than the first: the refusals
// (flagRefusal), one a line, then the pointer to the command's flags; nil
// when there are none.
func refuseFlags(fs *flag.FlagSet, refusals []string) error {
	if len(refusals) == 0 {
		return nil
	}
	return usagef("%s\n%s", strings.Join(refusals, "\n"), flagsPointer(fs))
}

// onceValue is a flag's Value while parseFlags parses: it refuses the
// flag a second time, and words the refusal of a value the flag's own
// Value refuses.
type onceValue struct {
	flag.Value
	flag  *flag.Flag
	parse *flagParse
	given bool
}

// IsBoolFlag is the wrapped Value's, so that a boolean flag still needs
// no value (--json).
func (v *onceValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (v *onceValue) Set(s string) error {
	name := flagName(v.flag.Name)
	if _, list := v.Value.(*listValue); v.given && !list {
		v.parse.refused = fmt.Errorf("%s is given twice: give it once", name)
		if strings.Contains(v.flag.Usage, "comma-separated") {
			v.parse.refused = fmt.Errorf("%w, its entries comma-separated (%s A,B)", v.parse.refused, name)
		}
		return v.parse.refused
	}
	v.given = true
	if err := v.Value.Set(s); err != nil {
		v.parse.refused = fmt.Errorf("%s %s: %s", name, quoteText(s), refusal(v.Value, s, err))
		if _, usage := flag.UnquoteUsage(v.flag); usage != "" && isBuiltin(v.Value) {
			v.parse.refused = fmt.Errorf("%w (%s: %s)", v.parse.refused, name, usage)
		}
		return v.parse.refused
	}
	return nil
}

// checkValues refuses a flag that takes a value given without one: one
// followed by another of the command's flags (import --db --strict),
// which the flag package would take as its value while the user meant two
// flags. A value that looks like a flag can still be given as --db=-x.
func (p *flagParse) checkValues(args []string) error {
	for i, arg := range args {
		if arg == "--" {
			return nil
		}
		name, ok := p.flagNamed(arg)
		if !ok || strings.Contains(arg, "=") || i+1 == len(args) {
			continue
		}
		if b, isBool := p.values[name].(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
			continue
		}
		if next, ok := p.flagNamed(args[i+1]); ok {
			return p.usageError(fmt.Errorf("%s needs a value: it is followed by %s, a flag (give %s VALUE, or %s=VALUE for a value that starts with -)",
				flagName(name), flagName(next), flagName(name), flagName(name)))
		}
	}
	return nil
}

// flagNamed reports the flag of the command that arg names, as an
// argument would set it (-k, --strict, --db=x), if any.
func (p *flagParse) flagNamed(arg string) (string, bool) {
	name, ok := strings.CutPrefix(arg, "-")
	if !ok {
		return "", false
	}
	name = strings.TrimPrefix(name, "-")
	name, _, _ = strings.Cut(name, "=")
	if p.fs.Lookup(name) == nil {
		return "", false
	}
	return name, true
}

// flagName is name as the manual and errors spell it: -k, --track.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// listValue is the Value of a list flag that may be given more than once,
// each time with one or more comma-separated entries (--exclude A,B
// --exclude C), as the HTTP API repeats a parameter (exclude=A&exclude=B):
// its String is every entry given, in order, comma-separated, for the
// command to split (splitList). parseFlags lets it be given again, and
// only it: any other flag given twice would replace its first value.
type listValue struct{ given []string }

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.given, ",")
}

func (l *listValue) Set(s string) error {
	l.given = append(l.given, s)
	return nil
}

// isBuiltin reports whether v is one of the flag package's own Values
// (IntVar, DurationVar, …: the ones with a Get), whose errors say only
// "parse error": the command's own Values (--lock-timeout) say what they
// take themselves.
func isBuiltin(v flag.Value) bool {
	g, ok := v.(flag.Getter)
	if !ok {
		return false
	}
	switch g.Get().(type) {
	case bool, int, int64, uint, uint64, float64, time.Duration:
		return true
	}
	return false
}

// refusal says why v refused s (with err): for the flag package's own
// Values, what kind of value the flag takes; for the command's, its
// own error.
func refusal(v flag.Value, s string, err error) string {
	if !isBuiltin(v) {
		return err.Error()
	}
	switch v.(flag.Getter).Get().(type) {
	case bool:
		return "want true or false"
	case int, int64:
		if _, perr := strconv.ParseInt(s, 0, 64); errors.Is(perr, strconv.ErrRange) || perr == nil {
			return tooLarge(s)
		}
		return "want a whole number"
	case uint, uint64:
		if _, perr := strconv.ParseUint(s, 0, 64); errors.Is(perr, strconv.ErrRange) || perr == nil {
			return tooLarge(s)
		}
		if strings.HasPrefix(s, "+") {
			return "want a whole number, 0 or more, without a sign"
		}
		return "want a whole number, 0 or more"
	case float64:
		if _, perr := strconv.ParseFloat(s, 64); errors.Is(perr, strconv.ErrRange) {
			return tooLarge(s)
		}
		return "want a number such as 0.5"
	case time.Duration:
		return "want a duration such as 500ms, 5s, 1m30s or 2h"
	}
	return err.Error()
}

// tooLarge says why a number flag refused s, a number of its syntax: it
// is too large, or too far below zero, for the flag's type.
func tooLarge(s string) string {
	if strings.HasPrefix(s, "-") {
		return "too far below zero"
	}
	return "too large"
}
