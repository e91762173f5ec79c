// Package lineformat reads the line-oriented text that simple serial
// devices print once a reading (or once a second), and turns each line into
// vitals.Readings with LOINC codes and UCUM units. It does no I/O beyond
// reading lines from an io.Reader (Reader), so a serial port, a
// pseudo-terminal, a file and a test buffer all fit.
//
// The formats and where each is documented:
//
//   - "nonin": Nonin Medical pulse oximeters' real-time ASCII output,
//     "SPO2=XXX HR=YYY" once a second, "---" for no data, optionally
//     preceded by the device time "HH:MM:SS" and followed by "F" (fast
//     responding values), "*" (event marker) or "B" (breath detected).
//     Documented in the operator's manuals' "Real-Time Serial Output" or
//     "Real-Time Patient Data Output" sections: Nonin 2500 PalmSAT, 8500,
//     9847 and 8600V, Avant 4000 and 9600.
//   - "and": A&D Company weighing instruments' standard data format,
//     "ST,+00012.34  g" or with a second header "ST,GS,+0070.5kg": ST stable,
//     US unstable, OL out of range (overload), QT counting; GS gross, NT net,
//     TR tare; units kg, lb and g are body-weight units, others are refused.
//     Documented in A&D's instruction manuals, "Data format" (EK-L and
//     EK-AEP series balances, GH series). The two-header form with GS/NT
//     is the one issue 6 names; A&D's manuals at hand show only the one-
//     header form, so the second header is taken as the Salter Brecknell
//     S122 manual ("Data format": Head 1 ST/US/OL, Head 2 GS/NT) documents
//     it for the same layout.
//   - "accutorr": the Datascope Accutorr 3 NIBP monitor's reply to the PC
//     interface command "P" (show patient data), "P:aaa,bbb,ccc,ddd,eee,
//     fff,ggg,hhh,iii" — SaO2, pulse rate, systolic, mean and diastolic
//     pressure, status bytes 0, 1 and 2, and minutes since the last NIBP
//     measurement, "--" where a field is not in use. Documented in the
//     Datascope Accutorr 3 service manual, "Interfacing to Personal
//     Computers" and pages 1-52 to 1-54 (revised 08/24/90), which also list
//     the status bits.
//
// Strict about data: a value with the wrong number of digits, out of the
// range the device documents, or in a unit that is not one the kind of
// reading is kept in, is an error that names the problem and quotes the
// line; it is never rounded into something plausible. Lines that carry no
// measurement on purpose — "---", an unstable or overloaded scale, an empty
// platform, a reply to another command — come back with a Status and no
// readings, and no error. A status flag that casts doubt on a value (an
// oximeter's "sensor off", a cuff's motion artefact) withholds that value
// and is named in Line.Flags.
package lineformat
