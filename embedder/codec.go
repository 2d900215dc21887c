package embedder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Magic opens every model file.
const Magic = "SNDLKMDL"

// FormatVersion is the version of the model file format that Marshal
// writes. Unmarshal reads every version up to it.
const FormatVersion = 1

// ErrFormat is wrapped by every error about a malformed model file.
var ErrFormat = errors.New("not a valid soundalike model file")

const headerLen = len(Magic) + 4 + 4

// MaxFileSize bounds what Read accepts.
const MaxFileSize = 1 << 30

// Marshal encodes m in the model file format described in the package
// documentation.
func (m *Model) Marshal() []byte {
	var p []byte
	le := binary.LittleEndian
	f32 := func(v float32) { p = le.AppendUint32(p, math.Float32bits(v)) }
	p = le.AppendUint32(p, uint32(len(m.inputs)))
	for _, in := range m.inputs {
		p = le.AppendUint16(p, uint16(len(in.Name)))
		p = append(p, in.Name...)
		flags := byte(0)
		if in.Indicator {
			flags |= 1
		}
		p = append(p, byte(in.Encoding), flags)
		f32(in.Param)
		f32(in.Impute)
		f32(in.Min)
		f32(in.Max)
	}
	p = le.AppendUint32(p, uint32(m.width))
	for _, v := range m.mean {
		f32(v)
	}
	for _, v := range m.std {
		f32(v)
	}
	p = le.AppendUint32(p, uint32(len(m.layers)))
	for _, l := range m.layers {
		p = le.AppendUint32(p, uint32(l.In))
		p = le.AppendUint32(p, uint32(l.Out))
		p = append(p, byte(l.Activation))
		for _, v := range l.W {
			f32(v)
		}
		for _, v := range l.B {
			f32(v)
		}
	}
	p = le.AppendUint32(p, uint32(len(m.config)))
	p = append(p, m.config...)

	b := make([]byte, 0, headerLen+len(p)+4)
	b = append(b, Magic...)
	b = le.AppendUint32(b, FormatVersion)
	b = le.AppendUint32(b, uint32(len(p)))
	b = append(b, p...)
	return le.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// WriteTo writes m in the model file format. It implements io.WriterTo.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.Marshal())
	return int64(n), err
}

// Read reads a whole model file from r.
func Read(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("embedder: read model: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("embedder: %w: larger than %d bytes", ErrFormat, MaxFileSize)
	}
	return Unmarshal(b)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("embedder: %w: "+format, append([]any{ErrFormat}, a...)...)
	}
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("%s: need %d bytes, %d left", what, n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) byte {
	if b := d.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) int {
	if b := d.bytes(2, what); b != nil {
		return int(binary.LittleEndian.Uint16(b))
	}
	return 0
}

func (d *decoder) u32(what string) int {
	if b := d.bytes(4, what); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

func (d *decoder) f32(what string) float32 {
	return math.Float32frombits(uint32(d.u32(what)))
}

// floats reads n float32 values after checking that they are there, so a
// corrupt count cannot make it allocate much.
func (d *decoder) floats(n int, what string) []float32 {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)/4 {
		d.fail("%s: %d values, only %d bytes left", what, n, len(d.b))
		return nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.b[4*i:]))
	}
	d.b = d.b[4*n:]
	return v
}

// Unmarshal decodes a model file (any format version up to
// FormatVersion). Every error wraps ErrFormat or describes an invalid
// model; it never panics on bad input.
func Unmarshal(b []byte) (*Model, error) {
	if len(b) < headerLen+4 || string(b[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("embedder: %w: missing the %q header", ErrFormat, Magic)
	}
	le := binary.LittleEndian
	version := le.Uint32(b[len(Magic):])
	if version == 0 || version > FormatVersion {
		return nil, fmt.Errorf("embedder: %w: format version %d, this build reads 1..%d", ErrFormat, version, FormatVersion)
	}
	n := int(le.Uint32(b[len(Magic)+4:]))
	if n != len(b)-headerLen-4 {
		return nil, fmt.Errorf("embedder: %w: payload of %d bytes declared, %d present (truncated or padded)", ErrFormat, n, len(b)-headerLen-4)
	}
	if got, want := crc32.ChecksumIEEE(b[:headerLen+n]), le.Uint32(b[headerLen+n:]); got != want {
		return nil, fmt.Errorf("embedder: %w: checksum %08x, stored %08x (corrupted)", ErrFormat, got, want)
	}
	d := &decoder{b: b[headerLen : headerLen+n]}
	ni := d.u32("input count")
	if ni > maxInputs {
		d.fail("%d inputs, at most %d", ni, maxInputs)
	}
	var inputs []Input
	for i := 0; i < ni && d.err == nil; i++ {
		var in Input
		in.Name = string(d.bytes(d.u16("input name length"), "input name"))
		in.Encoding = Encoding(d.u8("encoding"))
		flags := d.u8("flags")
		if flags&^1 != 0 {
			d.fail("input %d: unknown flags %#x", i, flags)
		}
		in.Indicator = flags&1 != 0
		in.Param = d.f32("param")
		in.Impute = d.f32("impute")
		in.Min = d.f32("min")
		in.Max = d.f32("max")
		inputs = append(inputs, in)
	}
	w := d.u32("encoded width")
	mean := d.floats(w, "means")
	std := d.floats(w, "stds")
	for _, s := range std {
		if s == 0 {
			d.fail("a standard deviation of 0 (stored as 1 by the writer)")
		}
	}
	nl := d.u32("layer count")
	if nl > maxLayers {
		d.fail("%d layers, at most %d", nl, maxLayers)
	}
	var layers []Layer
	for i := 0; i < nl && d.err == nil; i++ {
		var l Layer
		l.In = d.u32("layer inputs")
		l.Out = d.u32("layer outputs")
		l.Activation = Activation(d.u8("activation"))
		if l.In > maxWidth || l.Out > maxWidth {
			d.fail("layer %d is %d×%d, at most %d wide", i, l.In, l.Out, maxWidth)
		}
		l.W = d.floats(l.In*l.Out, "weights")
		l.B = d.floats(l.Out, "biases")
		layers = append(layers, l)
	}
	config := d.bytes(d.u32("config length"), "config")
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the config", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	m, err := New(inputs, mean, std, layers, bytes.Clone(config))
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrFormat)
	}
	return m, nil
}
