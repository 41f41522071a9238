//! The pure core: plan text -> validated model -> desired ARM resources -> rendered
//! bodies, policy and spec. No I/O happens here (files a plan refers to are read by
//! the caller), so everything is tested with plain unit and golden tests.

pub mod desired;
pub mod diag;
pub mod ids;
pub mod located;
pub mod marks;
pub mod model;
pub mod names;
pub mod parse;
pub mod plan;
pub mod policy;
pub mod policy_xml;
pub mod regions;
pub mod render;
pub mod replace;
pub mod schema;
pub mod shape;
pub mod spec;
pub mod validate;
pub mod verify;
