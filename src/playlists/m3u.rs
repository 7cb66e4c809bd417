//! M3U8 export and M3U/M3U8 import.
