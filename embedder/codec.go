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

// FormatVersion is the newest version of the model file format. Marshal
// writes version 1 for a model without tables (so older builds still read
// it) and version 2 for a model with tables; Unmarshal reads both.
const FormatVersion = 2

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
	version := uint32(1)
	if len(m.tables) > 0 {
		version = 2
	}
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
		if version >= 2 {
			p = le.AppendUint16(p, uint16(in.Table))
		}
	}
	p = le.AppendUint32(p, uint32(m.numW))
	for _, v := range m.mean {
		f32(v)
	}
	for _, v := range m.std {
		f32(v)
	}
	if version >= 2 {
		p = le.AppendUint32(p, TokenizerVersion)
		p = le.AppendUint32(p, uint32(len(m.tables)))
		for _, t := range m.tables {
			p = le.AppendUint16(p, uint16(len(t.Name)))
			p = append(p, t.Name...)
			p = le.AppendUint32(p, uint32(t.Dim))
			p = le.AppendUint32(p, uint32(t.OutDim))
			p = le.AppendUint32(p, uint32(len(t.Vocab)))
			for _, id := range t.Vocab {
				p = le.AppendUint32(p, id)
			}
			p = le.AppendUint32(p, uint32(t.Buckets))
			p = le.AppendUint32(p, t.Seed)
			for _, v := range t.W {
				f32(v)
			}
		}
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
	b = le.AppendUint32(b, version)
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
	p := d.parts(int(version))
	if d.err != nil {
		return nil, d.err
	}
	m, err := Build(p)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, ErrFormat)
	}
	return m, nil
}

// parts decodes the payload of a file of the given format version.
func (d *decoder) parts(version int) Parts {
	var p Parts
	p.Inputs = d.inputs(version)
	w := d.u32("encoded width")
	p.Mean = d.floats(w, "means")
	p.Std = d.floats(w, "stds")
	for _, s := range p.Std {
		if s == 0 {
			d.fail("a standard deviation of 0 (stored as 1 by the writer)")
		}
	}
	if version >= 2 {
		p.Tables = d.tables()
	}
	p.Layers = d.layers()
	p.Config = bytes.Clone(d.bytes(d.u32("config length"), "config"))
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the config", len(d.b))
	}
	return p
}

func (d *decoder) inputs(version int) []Input {
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
		if version >= 2 {
			in.Table = d.u16("input table")
		}
		inputs = append(inputs, in)
	}
	return inputs
}

func (d *decoder) tables() []Table {
	if tv := d.u32("tokenizer version"); d.err == nil && tv != TokenizerVersion {
		d.fail("tokenizer version %d, this build tokenizes by version %d", tv, TokenizerVersion)
	}
	nt := d.u32("table count")
	if nt > maxTables {
		d.fail("%d tables, at most %d", nt, maxTables)
	}
	var tables []Table
	for i := 0; i < nt && d.err == nil; i++ {
		var t Table
		t.Name = string(d.bytes(d.u16("table name length"), "table name"))
		t.Dim = d.u32("table dimension")
		t.OutDim = d.u32("table output dimension")
		nv := d.u32("vocabulary size")
		if nv > maxTableRows || nv > len(d.b)/4 {
			d.fail("table %d: vocabulary of %d ids, at most %d and what the file holds", i, nv, maxTableRows)
		}
		for j := 0; j < nv && d.err == nil; j++ {
			t.Vocab = append(t.Vocab, uint32(d.u32("vocabulary id")))
		}
		t.Buckets = d.u32("buckets")
		t.Seed = uint32(d.u32("hash seed"))
		if t.Dim > maxWidth || t.OutDim > maxWidth || t.Buckets > maxTableRows {
			d.fail("table %d: %d buckets of %d+%d, at most %d of %d", i, t.Buckets, t.Dim, t.OutDim, maxTableRows, maxWidth)
		}
		t.W = d.floats((nv+t.Buckets)*(t.Dim+t.OutDim), "table weights")
		tables = append(tables, t)
	}
	return tables
}

func (d *decoder) layers() []Layer {
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
	return layers
}
