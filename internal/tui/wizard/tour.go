package wizard

// tourHint is the --tour hint for what is on screen: what the step is for
// and what to check, for an installer doing it the first time.
func (m Model) tourHint() string {
	if m.fail != nil {
		return "Nothing finished is lost when a step fails: each step is saved as soon as it is done. Read what to do next, then press r."
	}
	switch m.screen {
	case scrJobs:
		return "Each job is one building the back office gave you. The list is stored on this laptop, so it works without a network."
	case scrSurvey:
		switch m.survey.phase {
		case surveyVerdict, surveyOverride:
			return "The verdict comes from the survey rules. No-go means the install would be unsafe or would not work as surveyed: fix the site, or record who decided to go ahead."
		}
		return "Walk the entrance and fill in what you see. Fields marked ! need fixing; the line below the form says why, as you type."
	case scrPair:
		switch m.pair.phase {
		case pairAsking:
			return "Compare the code above with the sticker on the unit's box. A different code means the unit may have been swapped: answer n."
		case pairDone:
			return "The unit proved it is genuine: its certificate chains to the manufacturer's root. The signal is measured where it will be mounted."
		}
		if m.pair.measure {
			return "The signal decides whether the site can take the unit. Connect the unit paired with this job, at its mount point: another unit is refused."
		}
		return "Pairing ties this unit to the job. Use the unit you will fit: the keys are sealed to it alone."
	case scrSelfTest:
		if m.test.phase == testAsk {
			return "The relay test really opens the door. Run it with someone at the door to see it open, or skip it now and run it later."
		}
		return "Every test must pass or be skipped before keys are burned. A failure's detail says what to check: wiring, supply or antenna."
	case scrBurn:
		return "Each door's key is sealed to this unit and written once. The unit signs a receipt with a check value, which latchkey verifies."
	case scrConsent:
		switch m.cons.phase {
		case consentTerms:
			return "Let the manager read the terms themselves. The SHA-256 identifies exactly this text; it goes into the signed record."
		case consentSigner, consentIntent, consentAgree:
			return "Only the manager types here. They must have authority for the building: owner, managing agent or board."
		case consentDone:
			return "The consent is signed by you and countersigned by the unit. Tenants must be told by the date shown."
		case consentRevoked:
			return "A revoked consent ends the install of this job: the building withdrew it, so only the office can start again with a new job."
		}
		return "These facts go into the terms the manager reads: who runs the unit, how to revoke, and when tenants are told."
	case scrNotice:
		switch m.notice.phase {
		case noticeRecord, noticeDone:
			return "Couriers get no access until the notice is recorded as given and its date has passed. A posted notice needs a photo."
		}
		return "The notice tells tenants couriers can open the door, and whom to ask. Check the contact and policy link before printing."
	case scrUpload:
		return "Records wait in the outbox on this laptop until they are sent. Offline is fine: 'latchkey sync' sends them later."
	case scrSummary:
		return "The install is done. 'latchkey install status' shows any job's steps; 'latchkey sync' sends what is waiting."
	}
	return ""
}
