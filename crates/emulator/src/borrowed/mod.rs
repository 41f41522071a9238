//! TEMPORARY: copies taken from the product while the workspace was split. They are being
//! replaced by the emulator's own implementations (issue 10); nothing here may stay.

pub mod policy_xml;
