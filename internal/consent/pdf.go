package consent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/latchkey/latchkey/internal/record"
)

// ManagerCopy renders the copy the signer keeps (ESIGN/UETA: a copy of the
// record they can retain): the terms exactly as signed, the facts, the
// signature block, and a verification summary in the manner of an
// e-signature certificate of completion. It does not verify env (call
// Verify first); it refuses an envelope whose payload is not c, or terms
// whose hash is not the one c names, so the copy cannot disagree with the
// record. For a fixed c the bytes are the same on every run: the PDF's
// dates are c's creation time and its streams are not compressed, so the
// text can be searched.
//
// The PDF uses the built-in fonts, which cover Windows-1252 (English and
// Spanish); any other character is shown as ".". The signed record, not
// the PDF, is authoritative.
func ManagerCopy(env record.Envelope, c Consent, terms Text) ([]byte, error) {
	body, err := env.Body()
	if err != nil {
		return nil, fmt.Errorf("manager copy: %w", err)
	}
	want, err := c.Canonical()
	if err != nil {
		return nil, fmt.Errorf("manager copy: %w", err)
	}
	switch {
	case env.PayloadType != PayloadType:
		return nil, fmt.Errorf("manager copy: %w: %q", ErrPayloadType, env.PayloadType)
	case !bytes.Equal(body, want):
		return nil, errors.New("manager copy: the envelope does not carry this consent")
	case SHA256([]byte(terms.Body)) != terms.SHA256 || terms.SHA256 != c.Terms.SHA256:
		return nil, fmt.Errorf("manager copy: the terms text is not the one signed (SHA-256 %s)", c.Terms.SHA256)
	case len(env.Signatures) != 2:
		return nil, fmt.Errorf("manager copy: %w: %d signatures, want 2", ErrSignatures, len(env.Signatures))
	}

	p := fpdf.New("P", "mm", "Letter", "")
	p.SetCompression(false)
	p.SetCatalogSort(true)
	p.SetCreationDate(c.CreatedAt)
	p.SetModificationDate(c.CreatedAt)
	tr := p.UnicodeTranslatorFromDescriptor("") // cp1252
	p.SetTitle("Consent "+c.ID, true)
	p.SetCreator("latchkey", true)
	p.SetProducer("latchkey", true)
	p.SetMargins(20, 20, 20)
	p.SetAutoPageBreak(true, 20)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-14)
		p.SetFont("Helvetica", "", 8)
		p.CellFormat(0, 5, tr(fmt.Sprintf("Consent %s - page %d of {nb}", c.ID, p.PageNo())), "", 0, "C", false, 0, "")
	})
	w := pdfWriter{p: p, tr: tr}

	// Part 1: the terms, as signed.
	p.AddPage()
	for _, line := range strings.Split(terms.Body, "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			w.font("B", 15)
			w.para(7, line[2:])
			p.Ln(2)
		case strings.HasPrefix(line, "## "):
			p.Ln(2)
			w.font("B", 12)
			w.para(6, line[3:])
		case strings.HasPrefix(line, "- "):
			w.font("", 10)
			p.SetX(26)
			w.para(5, "- "+line[2:])
		case line == "":
			p.Ln(2)
		default:
			w.font("", 10)
			w.para(5, line)
		}
	}

	// Part 2: the facts and the signature.
	p.AddPage()
	w.font("B", 14)
	w.para(7, "Consent record")
	p.Ln(2)
	doors := make([]string, len(c.Doors))
	for i, d := range c.Doors {
		doors[i] = d.Name + ": " + d.Hours
	}
	receipts := make([]string, len(c.Receipts))
	for i, r := range c.Receipts {
		receipts[i] = fmt.Sprintf("%s: slot %d, KCV %s", r.Door, r.Slot, r.KCV)
	}
	w.rows([][2]string{
		{"Record id", c.ID},
		{"Job", c.Job},
		{"Operator", c.Operator},
		{"Installer", c.Installer},
		{"Building", c.Building.Name + ", " + c.Building.Address},
		{"Who may open", c.Who},
		{"Doors and hours", strings.Join(doors, "\n")},
		{"Logged", strings.Join(c.Logging.Events, ", ")},
		{"Kept for", fmt.Sprintf("%d days", c.Logging.RetentionDays)},
		{"Tenants told by", c.Notice.By + " (" + strings.Join(c.Notice.How, ", ") + "), no later than " + c.Notice.Due},
		{"Incentive", c.Incentive},
		{"How to revoke", c.Revoke},
		{"Unit serial", c.UnitInfo.Serial},
		{"Attestation", c.UnitInfo.Attestation},
		{"Pairing nonce", c.UnitInfo.Nonce},
		{"Burn receipts", strings.Join(receipts, "\n")},
		{"Survey SHA-256", c.Survey},
		{"Terms", c.Terms.Version + " (" + c.Terms.Lang + ")"},
		{"Terms SHA-256", c.Terms.SHA256},
		{"Captured by", string(c.Captured)},
		{"Issued", stamp(c.CreatedAt)},
		{"Expires", stamp(c.ExpiresAt)},
	})
	p.Ln(4)
	w.font("B", 12)
	w.para(6, "Signature")
	p.Ln(1)
	w.rows([][2]string{
		{"Name", c.Signer.Name},
		{"Title", c.Signer.Title},
		{"Authority", string(c.Signer.Authority)},
		{"Signed at", stamp(c.Signer.SignedAt)},
		{"Statement confirmed", c.Signer.Intent},
	})

	// Part 3: the verification summary.
	p.AddPage()
	w.font("B", 14)
	w.para(7, "Verification summary")
	p.Ln(2)
	w.font("", 10)
	w.para(5, "This consent is a signed electronic record. Its payload (the canonical JSON of the record on the previous page) is signed by the installer and countersigned by the door unit, both with Ed25519, over the DSSE pre-authentication encoding (PAE) of the payload type and the payload.")
	p.Ln(3)
	pae := record.PAE(env.PayloadType, body)
	w.rows([][2]string{
		{"Record id", c.ID},
		{"Payload type", env.PayloadType},
		{"Payload SHA-256", SHA256(body)},
		{"PAE SHA-256", SHA256(pae)},
		{"Terms SHA-256", c.Terms.SHA256},
		{"Issued", stamp(c.CreatedAt)},
		{"Signed by the manager", stamp(c.Signer.SignedAt)},
		{"Expires", stamp(c.ExpiresAt)},
	})
	for i, s := range env.Signatures {
		who := "installer"
		if i == 1 {
			who = "unit " + c.UnitInfo.Serial + " (countersignature)"
		}
		p.Ln(2)
		w.rows([][2]string{
			{fmt.Sprintf("Signature %d", i+1), who},
			{"Algorithm", "Ed25519 over the DSSE PAE"},
			{"Key id (SHA-256 of the key)", s.KeyID},
			{"Signature (base64)", s.Sig},
		})
	}
	p.Ln(4)
	w.font("B", 11)
	w.para(6, "How to verify")
	w.font("", 10)
	for _, step := range []string{
		"1. Get the envelope (consent JSON) from the operator, and the installer's and the unit's Ed25519 public keys; check each key's SHA-256 is the key id above.",
		"2. Decode the payload from base64 and check its SHA-256 is the payload SHA-256 above, and that it is RFC 8785 canonical JSON.",
		"3. Build the PAE: \"DSSEv1\", the payload type's length, the payload type, the payload's length and the payload, separated by single spaces; check its SHA-256.",
		"4. Verify both signatures over the PAE with each public key (e.g. openssl pkeyutl -verify -rawin). Both must verify.",
		"5. Check the terms text on the first pages hashes to the terms SHA-256 named in the payload.",
		"Step-by-step commands with openssl: docs/consent.md in the latchkey source.",
	} {
		w.para(5, step)
		p.Ln(1)
	}

	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("manager copy: pdf: %w", err)
	}
	return out.Bytes(), nil
}

// stamp formats a time for the PDF: RFC 3339 in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pdfWriter keeps the PDF and its text translator together.
type pdfWriter struct {
	p  *fpdf.Fpdf
	tr func(string) string
}

func (w pdfWriter) font(style string, size float64) { w.p.SetFont("Helvetica", style, size) }

func (w pdfWriter) para(h float64, s string) { w.p.MultiCell(0, h, w.tr(s), "", "L", false) }

// rows writes a two-column table of labels and values.
func (w pdfWriter) rows(rows [][2]string) {
	const labelW = 50
	for _, r := range rows {
		w.font("B", 9)
		y := w.p.GetY()
		if y > 250 {
			w.p.AddPage()
			y = w.p.GetY()
		}
		w.p.MultiCell(labelW, 5, w.tr(r[0]), "", "L", false)
		yLabel := w.p.GetY()
		w.p.SetXY(20+labelW, y)
		w.font("", 9)
		w.p.MultiCell(0, 5, w.tr(r[1]), "", "L", false)
		if w.p.GetY() < yLabel {
			w.p.SetY(yLabel)
		}
	}
}
