//! `kith bench fw`: compile and apply time for generated rule sets, beside `nft -f` of
//! the same text alone.
