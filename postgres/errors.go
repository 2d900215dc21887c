package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Kinds of failure, checked with errors.Is. The errors Open and Next return
// for them are one sentence that names the server (never the password) and
// says what to check.
var (
	// ErrURL: the connection URL or DSN cannot be parsed.
	ErrURL = errors.New("invalid PostgreSQL connection URL")
	// ErrConnect: the server cannot be reached (refused, unknown host,
	// timeout, no such database).
	ErrConnect = errors.New("cannot connect to PostgreSQL")
	// ErrAuth: the server rejected the user or password.
	ErrAuth = errors.New("PostgreSQL authentication failed")
	// ErrTLS: the TLS handshake failed or the server refused TLS.
	ErrTLS = errors.New("PostgreSQL TLS failed")
	// ErrMissingTable: a table the default queries read does not exist,
	// or lacks a column they read.
	ErrMissingTable = errors.New("PostgreSQL table missing")
	// ErrBadQuery: a custom query is invalid or lacks the columns import
	// needs.
	ErrBadQuery = errors.New("invalid PostgreSQL query")
	// ErrStalled: the server sent nothing for Options.StallTimeout while
	// the source waited for it.
	ErrStalled = errors.New("PostgreSQL server stopped answering")
)

// Error is a failure of the PostgreSQL source. Its message is safe to print:
// it never contains the password. It deliberately does not wrap the pgx
// error, whose connection config holds the password.
type Error struct {
	Kind error // one of the Err* kinds above, or nil
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so that errors.Is(err, ErrAuth) works.
func (e *Error) Unwrap() error { return e.Kind }

// secrets is what must never appear in a message: the password, raw and in
// the encodings a URL may carry it in.
type secrets []string

func newSecrets(password string) secrets {
	if password == "" {
		return nil
	}
	s := secrets{password}
	for _, enc := range []string{url.QueryEscape(password), url.PathEscape(password), url.UserPassword("u", password).String()[2:]} {
		if enc != password {
			s = append(s, enc)
		}
	}
	return s
}

// scrub replaces every secret in msg.
func (s secrets) scrub(msg string) string {
	for _, p := range s {
		msg = strings.ReplaceAll(msg, p, "********")
	}
	return msg
}

// errorf formats an *Error. The values in a (strings, errors, Stringers)
// are scrubbed before they are formatted; format is not, since it is this
// package's own text and holds no password. Scrubbing the whole message
// garbled it when the password is a common word: with the password
// "password", "******** authentication failed ... check the ******** in
// the URL". Scrubbing before %q also catches a password that %q would
// escape.
func (s secrets) errorf(kind error, format string, a ...any) *Error {
	if len(s) > 0 {
		a = slices.Clone(a)
		for i, v := range a {
			switch v := v.(type) {
			case string:
				a[i] = s.scrub(v)
			case error:
				a[i] = s.scrub(v.Error())
			case fmt.Stringer:
				a[i] = s.scrub(v.String())
			}
		}
	}
	return &Error{Kind: kind, Msg: "postgres: " + fmt.Sprintf(format, a...)}
}

// Describe returns a printable description of a connection URL or DSN,
// user@host:port/database, without the password. It returns "(unparsable
// connection URL)" when it cannot be parsed.
func Describe(connString string) string {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return "(unparsable connection URL)"
	}
	return target(cfg)
}

func target(cfg *pgconn.Config) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = host + "/.s.PGSQL." + strconv.Itoa(int(cfg.Port))
	} else {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	return cfg.User + "@" + host + "/" + cfg.Database
}

// urlName names the connection string in an error, with where it came
// from (Options.URLFrom) when the caller said.
func urlName(from string) ownText {
	if from == "" {
		return "the connection URL"
	}
	return ownText("the connection URL from " + from)
}

// ownText is this package's own words (and the caller's Options.URLFrom),
// which hold no password: errorf formats it unscrubbed, as it does its
// format, so that a password that is a common word ("postgres") does not
// mask it.
type ownText string

// parseError explains a connection string that pgx cannot parse, naming
// where it came from (Options.URLFrom). pgx's own message quotes the
// string with a best-effort redaction, so it is not used; nor is the
// cause of a syntax error, which may quote part of the string (a mislaid
// password). A TLS parameter that pgx cannot use is named, from the
// cause's start in tlsParseErrors, since the URL then parsed and the
// advice to check its syntax would mislead.
func parseError(err error, from string) *Error {
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) && pce.Unwrap() != nil {
		cause := pce.Unwrap().Error()
		for _, e := range tlsParseErrors {
			if !strings.HasPrefix(cause, e.prefix) {
				continue
			}
			what := e.what
			var pathErr *fs.PathError
			if errors.As(pce.Unwrap(), &pathErr) { // an op, a file name and an errno
				what += " (" + pathErr.Error() + ")"
			}
			return &Error{Kind: ErrURL, Msg: "postgres: the TLS settings of " + string(urlName(from)) + " cannot be used: " + what}
		}
	}
	return &Error{Kind: ErrURL, Msg: "postgres: " + string(urlName(from)) + " cannot be parsed: " +
		"use postgres://user:password@host:port/database?sslmode=... or key=value pairs " +
		"(host=... user=... dbname=...), percent-encoding special characters in the password"}
}

// tlsParseErrors explain the causes pgx gives for TLS parameters it cannot
// use (pgconn's configTLS), by the start of their message.
var tlsParseErrors = []struct{ prefix, what string }{
	{"sslmode is invalid", "sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full"},
	{"unable to read CA file", "the sslrootcert file cannot be read"},
	{"unable to add CA to cert pool", "the sslrootcert file holds no PEM certificate"},
	{"unable to load system certificate pool", "the system's certificates (sslrootcert=system) cannot be loaded"},
	{`both "sslcert" and "sslkey" are required`, "sslcert and sslkey must be given together"},
	{"unable to read sslkey", "the sslkey file cannot be read"},
	{"failed to decode sslkey", "the sslkey file holds no PEM key"},
	{"unable to find sslpassword", "the sslkey file is encrypted and no sslpassword is given"},
	{"unable to decrypt key", "the sslkey file cannot be decrypted with sslpassword"},
	{"unable to read cert", "the sslcert file cannot be read"},
	{"unable to load cert", "sslcert and sslkey are not a certificate and its key"},
}

// connectError turns a failed connection into one clear sentence; from is
// where the URL came from (Options.URLFrom).
func connectError(err error, cfg *pgconn.Config, sec secrets, timeout, from string) *Error {
	where := target(cfg)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return sec.errorf(ErrAuth, "password authentication failed for user %q at %s: check the password in %s", cfg.User, where, urlName(from))
		case "28000":
			return sec.errorf(ErrAuth, "the server at %s refused user %q: %s (check the user name and the server's pg_hba.conf)", where, cfg.User, pgErr.Message)
		case "3D000":
			return sec.errorf(ErrConnect, "database %q does not exist at %s", cfg.Database, where)
		case "53300":
			return sec.errorf(ErrConnect, "the server at %s has too many connections: try again later", where)
		case "57P03":
			return sec.errorf(ErrConnect, "the server at %s is starting up or shutting down: try again shortly", where)
		}
		return sec.errorf(ErrConnect, "cannot connect to %s: %s (SQLSTATE %s)", where, pgErr.Message, pgErr.Code)
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return sec.errorf(ErrTLS, "the TLS certificate of %s is not trusted (%s): check sslrootcert or sslmode", where, innermost(err))
	case tlsRequired(cfg) && strings.Contains(err.Error(), "server refused TLS connection"):
		// Only then is the refusal why connecting failed: with sslmode
		// prefer (the default) or allow, pgx tries without TLS too, and
		// that attempt's failure is the one to report.
		return sec.errorf(ErrTLS, "the server at %s does not accept TLS, which the URL's sslmode requires: enable TLS on the server or use sslmode=prefer", where)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "tls:"):
		return sec.errorf(ErrTLS, "the TLS handshake with %s failed (%s): check sslmode and the server's TLS settings", where, innermost(err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return sec.errorf(ErrConnect, "connection refused by %s: is the server running and listening there?", where)
	case errors.Is(err, context.Canceled):
		return sec.errorf(ErrConnect, "connecting to %s was interrupted", where)
	case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return sec.errorf(ErrConnect, "no answer from %s within %s: check the host, the port and any firewall", where, timeout)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return sec.errorf(ErrConnect, "cannot resolve host %q: check the host in the URL", dnsErr.Name)
	}
	return sec.errorf(ErrConnect, "cannot connect to %s: %s", where, innermost(err))
}

// tlsRequired reports whether every attempt cfg makes uses TLS (sslmode
// require, verify-ca or verify-full): with prefer or allow, one of the
// attempts is without it.
func tlsRequired(cfg *pgconn.Config) bool {
	if cfg.TLSConfig == nil {
		return false
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil {
			return false
		}
	}
	return true
}

// innermost returns the message of the deepest error in err's chain, which
// for pgx is the cause without the "failed to connect to ..." prefixes, on
// one line: the failed attempts that pgx joins (one per host, and one
// without TLS after one with it) are separated by "; ".
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return strings.ReplaceAll(err.Error(), "\n", "; ")
		}
		err = next
	}
}

// queryError explains a failed query. which is "tracks" or "interactions";
// flag is the option that sets the query, "" for a default query.
func queryError(err error, which, flag, where string, sec secrets) *Error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := pgErr.Message
		if pgErr.Position > 0 {
			msg += " at character " + strconv.Itoa(int(pgErr.Position))
		}
		if pgErr.Code == "42P01" && flag == "" {
			return sec.errorf(ErrMissingTable, "the default %s query failed at %s: %s", which, where, msg)
		}
		if flag != "" {
			return sec.errorf(ErrBadQuery, "the %s query (%s) failed: %s (SQLSTATE %s)", which, flag, msg, pgErr.Code)
		}
		return sec.errorf(nil, "reading %s from %s: %s (SQLSTATE %s)", which, where, msg, pgErr.Code)
	}
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ctxErr) {
			return sec.errorf(ctxErr, "reading %s from %s: %s", which, where, ctxErr)
		}
	}
	return sec.errorf(ErrConnect, "reading %s from %s: the connection failed: %s", which, where, innermost(err))
}
