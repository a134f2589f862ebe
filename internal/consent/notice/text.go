package notice

import (
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"text/template"
	"time"
)

//go:embed templates/notice.*.tmpl
var templateFS embed.FS

// templates holds one parsed template per language, named by the language.
var templates = func() map[string]*template.Template {
	m := make(map[string]*template.Template)
	for _, l := range Languages() {
		name := "templates/notice." + l + ".tmpl"
		m[l] = template.Must(template.New("notice."+l+".tmpl").Option("missingkey=error").ParseFS(templateFS, name))
	}
	return m
}()

// view is what a template sees: every fact already in words, so templates
// hold only sentences.
type view struct {
	Building, Address string
	Doors             string
	Hours             string
	Operator          string
	Contact           Contact
	PolicyURL         string
	RetentionDays     string
	Recipients        []string
	InstalledOn       string
	UnitLocation      string
	StartsOn          string
}

// Text returns the notice for f in f.Lang, as plain text: a title line,
// then one section per required item (see Check), each under its heading.
// The same text is what PDF lays out and what a notice record's text_sha256
// is taken over.
func Text(f Facts) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	w := lang[f.Lang]
	v := view{
		Building:      f.Building,
		Address:       f.Address,
		Doors:         w.list(f.Doors),
		Hours:         w.hours(f.AccessHours),
		Operator:      f.Operator,
		Contact:       f.Contact,
		PolicyURL:     f.PolicyURL,
		RetentionDays: strconv.Itoa(int(f.Retention / (24 * time.Hour))),
		Recipients:    f.Recipients,
		InstalledOn:   w.date(f.InstalledAt),
		UnitLocation:  f.UnitLocation,
	}
	if !f.StartsOn.IsZero() {
		v.StartsOn = w.date(f.StartsOn)
	}
	var b bytes.Buffer
	if err := templates[f.Lang].Execute(&b, v); err != nil {
		return "", fmt.Errorf("notice text: %w", err)
	}
	return b.String(), nil
}
