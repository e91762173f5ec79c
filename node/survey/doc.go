// Package survey keeps satisfaction surveys taken after a visit, the
// feedback cases that low scores open, and the reports made from both.
//
// A survey scores a visit 1–5 on five dimensions (medical skill, staff
// attitude, environment, cost, waiting time) and may carry a comment. It is
// taken at the kiosk, through a link sent by SMS after the visit
// (QueueLink), or read out over the phone. Any dimension scored 2 or below
// opens a feedback case routed to the department responsible for that
// dimension. The routing is data (routing.json, embedded; a clinic may ship
// its own through Config.Routing): waiting time goes to the outpatient
// office, cost to billing, environment to logistics, and skill and attitude
// to the department of the visit itself.
//
// # Layout in the store
//
// A survey is one record of the "surveys" collection whose id is the
// visit's id, written once (Create): a visit is surveyed once on a node,
// and if two nodes take a survey of the same visit while apart, the two
// writes land in the same record and every node shows the same one (the
// newest by stamp) instead of counting the visit twice in the reports. The
// comment is free text a patient types and may name people or illnesses:
// it is sealed with the node's vault.Sealer, bound to the record and field,
// like a chart's personal fields, so a stolen database file does not show
// it. Scores, department, doctor and channel name no patient and stay
// readable, so a locked hub can still compute reports.
//
// A case is one record of the "cases" collection with the id
// "<visit>.<dimension>", so a survey of the same visit taken on two nodes
// opens one case per dimension, not two. Its opening facts (dimension,
// department, score, deadline) are registers written once. Its progress is
// a list of append-only facts ("events": investigate, resolve), not a
// state register, and the state is derived: the highest state any event
// reached, in the order open < investigating < resolved. So when one node
// resolves a case while another, apart from it, moves it to investigating,
// after sync every node shows it resolved, with both events in its
// history; when two nodes resolve it concurrently, the resolution is the
// event with the earliest stamp and the other response is kept in the
// history. A register would have shown whichever write had the later clock
// (undoing a resolution with a late "investigating"), and nothing of the
// other. A resolution's response is sealed like a comment: staff often
// quote the complaint.
//
// Reports are computed from the records by scanning them (ListOnly reads
// only the fields a report needs); a clinic keeps thousands of surveys a
// year, which a scan reads in milliseconds, so no index is kept.
package survey
