package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Decode reads one envelope from its JSON form, strictly: at most
// MaxEnvelope bytes, exactly the DSSE fields (spelled exactly, each once,
// nothing else and nothing after), a non-empty payload type and payload,
// and payload and signatures in standard padded base64. encoding/json alone
// would match field names without regard to case and let a repeated field
// override the first, so two parsers could read different records from the
// same bytes. Decode does not verify; errors wrap ErrMalformed.
func Decode(b []byte) (Envelope, error) {
	env, err := decode(b)
	if err != nil {
		return Envelope{}, fmt.Errorf("decode record: %w: %v", ErrMalformed, err)
	}
	return env, nil
}

func decode(b []byte) (Envelope, error) {
	if len(b) > MaxEnvelope {
		return Envelope{}, fmt.Errorf("%d bytes, at most %d", len(b), MaxEnvelope)
	}
	f, err := fields(b, "payloadType", "payload", "signatures")
	if err != nil {
		return Envelope{}, err
	}
	var env Envelope
	if env.PayloadType, err = str(f, "payloadType"); err != nil {
		return Envelope{}, err
	}
	if env.Payload, err = str(f, "payload"); err != nil {
		return Envelope{}, err
	}
	if _, err := decode64(env.Payload); err != nil {
		return Envelope{}, fmt.Errorf("payload: %v", err)
	}
	raw, ok := f["signatures"]
	if !ok || !bytes.HasPrefix(raw, []byte("[")) {
		return Envelope{}, errors.New("signatures: want an array")
	}
	var sigs []json.RawMessage
	if err := json.Unmarshal(raw, &sigs); err != nil {
		return Envelope{}, fmt.Errorf("signatures: %v", err)
	}
	if len(sigs) > MaxSignatures {
		return Envelope{}, fmt.Errorf("%d signatures, at most %d", len(sigs), MaxSignatures)
	}
	env.Signatures = make([]Signature, 0, len(sigs))
	for i, r := range sigs {
		sf, err := fields(r, "keyid", "sig")
		if err != nil {
			return Envelope{}, fmt.Errorf("signature %d: %v", i, err)
		}
		var s Signature
		if s.KeyID, err = str(sf, "keyid"); err != nil {
			return Envelope{}, fmt.Errorf("signature %d: %v", i, err)
		}
		if s.Sig, err = str(sf, "sig"); err != nil {
			return Envelope{}, fmt.Errorf("signature %d: %v", i, err)
		}
		if _, err := decode64(s.Sig); err != nil {
			return Envelope{}, fmt.Errorf("signature %d: sig: %v", i, err)
		}
		env.Signatures = append(env.Signatures, s)
	}
	return env, nil
}

// fields splits the JSON object b into its members, refusing any name not
// in names (compared exactly), a name given twice, and trailing data.
func fields(b []byte, names ...string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	out := make(map[string]json.RawMessage, len(names))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		switch {
		case !slices.Contains(names, name):
			return nil, fmt.Errorf("unknown field %q", name)
		case out[name] != nil:
			return nil, fmt.Errorf("field %q given twice", name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %q: %v", name, err)
		}
		out[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// str reads the required, non-empty string member name of f.
func str(f map[string]json.RawMessage, name string) (string, error) {
	raw, ok := f[name]
	if !ok {
		return "", fmt.Errorf("no %q", name)
	}
	var s string
	if !bytes.HasPrefix(raw, []byte(`"`)) || json.Unmarshal(raw, &s) != nil || s == "" {
		return "", fmt.Errorf("%q: want a non-empty string", name)
	}
	return s, nil
}
