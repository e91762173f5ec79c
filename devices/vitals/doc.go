// Package vitals holds what every device parser produces: a Reading of one
// vital sign with its LOINC code and UCUM unit, the value and unit exactly
// as the device sent them, and the one table that maps device codes to
// LOINC and units to UCUM. The HL7 parser and the line-format parsers both
// use it, so a systolic pressure means the same thing whatever cable it
// came over.
//
// Sources of the mapping:
//
//   - LOINC codes and names are those of the HL7 FHIR Vital Signs profile
//     (hl7.org/fhir/observation-vitalsigns), which also fixes 85354-9 as the
//     blood-pressure panel and asks for 2708-6 beside 59408-5 for SpO2.
//     Capillary glucose (14743-9) is the code issue 6 asks for.
//   - MDC (ISO/IEEE 11073-10101) codes are the 32-bit form a PCD-01 message
//     carries in OBX-3 and OBX-6: partition << 16 + term code (MDC_PART_SCADA
//     is 2, MDC_PART_DIM is 4), for example MDC_PRESS_BLD_NONINV_SYS = 2<<16 +
//     18949 = 150021. Term codes were checked against the nomenclature as
//     published in the NIST Rosetta Terminology Mapping Management System
//     (RTMMS) and as used by the HL7 Personal Health Device FHIR IG
//     (hl7.org/fhir/uv/phd), whose examples pair them with the LOINC codes
//     above. Only codes checked this way are in the table; an unknown code
//     is refused, never guessed.
//   - Site-specific temperatures (MDC_TEMP_ORAL) map to 8310-5, the body
//     temperature code the Vital Signs profile requires; the device's own
//     code stays with the observation.
//
// Conversions to the unit a kind is kept in (°F to Cel, lb and g to kg,
// kPa to mm[Hg], inches to cm, mg/dL to mmol/L for glucose) round to two
// decimals. The plausible ranges are this project's own wide limits for
// adults and children: a value outside is kept and flagged Implausible,
// never dropped.
//
// The package is pure: no I/O, no clock, no state beyond constant tables.
package vitals
