package datedetect

import (
	"fmt"
	"strconv"
	"strings"
)

// zoneAbbrevs lists time-zone abbreviations by fixed UTC offset in minutes.
// Abbreviations are treated as fixed offsets (CET never switches to CEST).
var zoneAbbrevs = map[int]string{
	-720: "Y",
	-660: "NUT SST X",
	-600: "CKT HAST HST TAHT TKT W",
	-570: "MART MIT",
	-540: "AKST GAMT GIT HADT HNY V",
	-480: "AKDT CIST HAY HNP PST PT U",
	-420: "HAP HNR MST PDT T",
	-360: "CST EAST GALT HAR HNC MDT S",
	-300: "CDT COT EASST ECT EST ET HAC HNE PET R",
	-270: "HLV VET",
	-240: "AST BOT CLT COST EDT FKT GYT HAE HNA PYT Q",
	-210: "HNT NST NT",
	-180: "ADT ART BRT CLST FKST GFT HAA P PMST PYST SRT UYT WGT",
	-150: "HAT NDT",
	-120: "BRST FNT O PMDT UYST WGST",
	-60:  "AZOT CVT EGT N",
	0:    "EGST GMT UTC WET WT Z",
	60:   "A CET DFT WAT WEDT WEST",
	120:  "B CAT CEDT CEST EET SAST WAST",
	180:  "C EAT EEDT EEST IDT MSK",
	210:  "IRST",
	240:  "AMT AZT D GET GST KUYT MSD MUT RET SAMT SCT",
	270:  "AFT IRDT",
	300:  "AMST AQTT AZST E HMT MAWT MVT PKT TFT TJT TMT UZT YEKT",
	330:  "SLT",
	345:  "NPT",
	360:  "ALMT BIOT BTT F IOT KGT NOVT OMST YEKST",
	390:  "CCT MMT",
	420:  "CXT DAVT G HOVT ICT KRAT NOVST OMSST THA WIB",
	480:  "ACT AWST BDT BNT CAST H HKT IRKT KRAST MYT PHT SGT ULAT WITA WST",
	540:  "AWDT I IRKST JST KST PWT TLT WDT WIT YAKT",
	570:  "ACST",
	600:  "AEST ChST K PGT VLAT YAKST YAPT",
	630:  "ACDT LHST",
	660:  "AEDT L LHDT MAGT NCT PONT SBT VLAST VUT",
	690:  "NFT",
	720:  "ANAST ANAT FJT GILT M MAGST MHT NZST PETST PETT TVT WFT",
	780:  "FJST NZDT",
}

func abbrevOffset(name string) (int, bool) {
	if name == "" {
		return 0, true
	}
	for off, names := range zoneAbbrevs {
		for _, n := range strings.Fields(names) {
			if n == name {
				return off, true
			}
		}
	}
	return 0, false
}

// ZoneOffset parses a fixed-offset zone as accepted by logtimezone and %z/%Z
// values: an optional abbreviation (UTC, GMT, Z, CET, ...) followed by an
// optional [+-]hh[[:]mm]. It returns the offset east of UTC in minutes.
func ZoneOffset(s string) (int, error) {
	i := 0
	for i < len(s) && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')) {
		i++
	}
	name, rest := s[:i], s[i:]
	base, ok := abbrevOffset(name)
	if !ok {
		return 0, fmt.Errorf("unknown or unsupported time zone %q", s)
	}
	if rest == "" {
		return base, nil
	}
	sign := 1
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return 0, fmt.Errorf("unknown or unsupported time zone %q", s)
	}
	digits := strings.ReplaceAll(rest[1:], ":", "")
	if (len(digits) != 2 && len(digits) != 4) || strings.Count(rest, ":") > 1 {
		return 0, fmt.Errorf("unknown or unsupported time zone %q", s)
	}
	hh, err := strconv.Atoi(digits[:2])
	if err != nil || hh > 19 {
		return 0, fmt.Errorf("unknown or unsupported time zone %q", s)
	}
	mm := 0
	if len(digits) == 4 {
		if mm, err = strconv.Atoi(digits[2:]); err != nil {
			return 0, fmt.Errorf("unknown or unsupported time zone %q", s)
		}
	}
	return base + sign*(hh*60+mm), nil
}
