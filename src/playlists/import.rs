//! ListenBrainz (JSON) and Last.fm (CSV) listening histories, parsed into listens.
