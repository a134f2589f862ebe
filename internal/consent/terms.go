package consent

import (
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/incentive"
)

// CurrentVersion is the terms version new consents use.
const CurrentVersion = "v1"

// Langs lists the languages the terms are written in.
func Langs() []string { return []string{"en", "es"} }

// ErrNoTerms is a terms version or language that does not exist.
var ErrNoTerms = errors.New("no such consent terms")

//go:embed terms/v1.en.md terms/v1.es.md
var termsFS embed.FS

// templates maps "VERSION.LANG" to the embedded text. A published version
// is never edited: a change is a new version, since signed consents name
// the version and the hash of what was shown.
var templates = func() map[string]string {
	m := map[string]string{}
	for _, v := range []string{"v1"} {
		for _, l := range Langs() {
			b, err := termsFS.ReadFile("terms/" + v + "." + l + ".md")
			if err != nil {
				panic(err)
			}
			m[v+"."+l] = string(b)
		}
	}
	return m
}()

// Text is a terms text as shown to the signer: placeholders filled in from
// the facts, SHA256 the lower-case hex SHA-256 of exactly Body's bytes, and
// Intent the statement the signer confirms, which names that hash.
type Text struct {
	Version string
	Lang    string
	Body    string
	SHA256  string
	Intent  string
}

// TermsFor renders the terms of version and lang for f. Every fact the
// signer agrees to (building, doors and hours, who tells tenants and by
// when, the incentive, what is logged and for how long, how to revoke) is
// written into the text before it is hashed, so the hash in the record is
// of what the signer read.
func TermsFor(version, lang string, f Facts) (Text, error) {
	tmpl, ok := templates[version+"."+lang]
	if !ok {
		return Text{}, fmt.Errorf("terms %s %s: %w (versions: %s; languages: %s)", version, lang, ErrNoTerms, CurrentVersion, strings.Join(Langs(), ", "))
	}
	w := words[lang]
	if f.TermDays == 0 {
		f.TermDays = DefaultTermDays
	}
	var doors, logged []string
	for _, d := range f.Doors {
		doors = append(doors, "- "+d.Name+": "+d.Hours)
	}
	for _, e := range f.Logging.Events {
		logged = append(logged, "- "+w.events[e])
	}
	var how []string
	for _, h := range f.Notice.How {
		how = append(how, w.methods[h])
	}
	by := w.byManager
	if f.Notice.By == NoticeByOperator {
		by = w.byOperator + f.Operator
	}
	body := strings.NewReplacer(
		"{{version}}", version,
		"{{building}}", f.Building.Name,
		"{{address}}", f.Building.Address,
		"{{operator}}", f.Operator,
		"{{unit}}", f.Unit.Serial,
		"{{who}}", w.who,
		"{{doors}}", strings.Join(doors, "\n"),
		"{{term_days}}", strconv.Itoa(f.TermDays),
		"{{incentive}}", w.incentive(f.Incentive),
		"{{notice_by}}", by,
		"{{notice_how}}", strings.Join(how, w.or),
		"{{notice_due}}", f.Notice.Due,
		"{{logged}}", strings.Join(logged, "\n"),
		"{{retention_days}}", strconv.Itoa(f.Logging.RetentionDays),
		"{{revoke}}", f.Revoke,
	).Replace(tmpl)
	if i := strings.Index(body, "{{"); i >= 0 {
		return Text{}, fmt.Errorf("terms %s %s: %w: a fact holds a placeholder (byte %d)", version, lang, ErrInvalid, i)
	}
	sum := SHA256([]byte(body))
	return Text{Version: version, Lang: lang, Body: body, SHA256: sum,
		Intent: fmt.Sprintf(w.intent, version, sum, f.Building.Name)}, nil
}

// words are the phrases the terms fill in, per language.
type phrases struct {
	who, byManager, byOperator, or, none string
	events, methods                      map[string]string
	kinds                                map[incentive.Kind]string
	worth                                string
	intent                               string
}

func (w phrases) incentive(s string) string {
	o, err := incentive.Parse(s)
	if err != nil || o.IsNone() {
		return w.none
	}
	return fmt.Sprintf(w.worth, w.kinds[o.Kind], o.Amount(), o.Currency)
}

var words = map[string]phrases{
	"en": {
		who:        "couriers holding a parcel scanned for this building",
		byManager:  "The building's management (owner, managing agent or board)",
		byOperator: "The operator, ",
		or:         ", or ",
		none:       "none",
		events: map[string]string{
			EventDoorOpen:   "each door opening: time, door, courier account and parcel scan id",
			EventDoorDenied: "each refused attempt: time, door and reason",
			EventTamper:     "tamper and power alarms of the unit",
			EventHealth:     "the unit's health: supply voltage, cellular signal, firmware version",
		},
		methods: map[string]string{
			NoticePosted:        "a notice posted in the lobby",
			NoticeMailed:        "a letter to each apartment",
			NoticeEmailed:       "email to each tenant",
			NoticeHandDelivered: "a notice handed to each apartment",
		},
		kinds: map[incentive.Kind]string{
			incentive.GiftCard: "gift card", incentive.Cash: "cash", incentive.RentCredit: "rent credit",
			incentive.ServiceCredit: "service credit", incentive.Donation: "donation", incentive.Other: "other",
		},
		worth:  "%s worth %s %s",
		intent: "I have read the terms shown to me (version %s, SHA-256 %s). I have the authority I stated to give this consent for %s. I agree to use electronic records and an electronic signature for it, and I intend my typed name and title to be my signature.",
	},
	"es": {
		who:        "los repartidores con un paquete escaneado para este edificio",
		byManager:  "La administración del edificio (propietario, administrador o junta)",
		byOperator: "El operador, ",
		or:         ", o ",
		none:       "ninguno",
		events: map[string]string{
			EventDoorOpen:   "cada apertura: hora, puerta, cuenta del repartidor e identificador del escaneo del paquete",
			EventDoorDenied: "cada intento rechazado: hora, puerta y motivo",
			EventTamper:     "las alarmas de manipulación y de alimentación de la unidad",
			EventHealth:     "el estado de la unidad: tensión de alimentación, señal móvil, versión del firmware",
		},
		methods: map[string]string{
			NoticePosted:        "un aviso colocado en el vestíbulo",
			NoticeMailed:        "una carta a cada apartamento",
			NoticeEmailed:       "un correo electrónico a cada inquilino",
			NoticeHandDelivered: "un aviso entregado en mano en cada apartamento",
		},
		kinds: map[incentive.Kind]string{
			incentive.GiftCard: "tarjeta regalo", incentive.Cash: "efectivo", incentive.RentCredit: "crédito de alquiler",
			incentive.ServiceCredit: "crédito de servicios", incentive.Donation: "donación", incentive.Other: "otro",
		},
		worth:  "%s por valor de %s %s",
		intent: "He leído los términos que se me han mostrado (versión %s, SHA-256 %s). Tengo la autoridad que he declarado para dar este consentimiento para %s. Acepto usar documentos electrónicos y una firma electrónica para ello, y quiero que mi nombre y cargo escritos sean mi firma.",
	},
}

// checkWords makes sure every language names every enum value; a test
// runs it.
func checkWords() error {
	for _, l := range Langs() {
		w, ok := words[l]
		if !ok {
			return fmt.Errorf("no phrases for %s", l)
		}
		for _, e := range Events() {
			if w.events[e] == "" {
				return fmt.Errorf("%s: no phrase for event %s", l, e)
			}
		}
		for _, m := range NoticeMethods() {
			if w.methods[m] == "" {
				return fmt.Errorf("%s: no phrase for method %s", l, m)
			}
		}
		for _, k := range incentive.Kinds() {
			if w.kinds[k] == "" {
				return fmt.Errorf("%s: no phrase for incentive %s", l, k)
			}
		}
	}
	if !slices.Equal(Langs(), []string{"en", "es"}) {
		return errors.New("languages changed: add their terms files")
	}
	return nil
}
