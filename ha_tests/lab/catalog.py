"""The full profile's entries in Keystone: service project and users, services, endpoints.

What a deployment tool registers once Keystone answers. Every endpoint points at the VIP,
so HAProxy decides which controller serves.
"""

from __future__ import annotations

from ha_tests.lab.openstack import SERVICE_USERS, Secrets
from ha_tests.lab.plan import (
    ADMIN_USER,
    CINDER_API_PORT,
    IMAGE_PORT,
    NETWORK_PORT,
    NOVA_API_PORT,
    PLACEMENT_PORT,
    REGION,
    SERVICE_PROJECT,
    LabPlan,
)


def services(plan: LabPlan) -> list[tuple[str, str, str]]:
    """(name, type, URL) of each service the full profile serves on the VIP."""
    base = f"http://{plan.vip}"
    return [
        ("nova", "compute", f"{base}:{NOVA_API_PORT}/v2.1"),
        ("placement", "placement", f"{base}:{PLACEMENT_PORT}"),
        ("cinderv3", "volumev3", f"{base}:{CINDER_API_PORT}/v3/%(project_id)s"),
        ("cinder", "block-storage", f"{base}:{CINDER_API_PORT}/v3/%(project_id)s"),
        ("neutron", "network", f"{base}:{NETWORK_PORT}"),
        ("glance", "image", f"{base}:{IMAGE_PORT}"),
    ]


def register(plan: LabPlan, admin_password: str, secrets: Secrets) -> None:
    import openstack

    cloud = openstack.connect(auth_url=plan.auth_url, username=ADMIN_USER,
                              password=admin_password, project_name="admin",
                              user_domain_id="default", project_domain_id="default",
                              region_name=REGION, identity_interface="public",
                              load_yaml_config=False, load_envvars=False)
    identity = cloud.identity
    project = identity.find_project(SERVICE_PROJECT, domain_id="default") or \
        identity.create_project(name=SERVICE_PROJECT, domain_id="default",
                                description="OpenStack services of the lab")
    roles = [identity.find_role("admin")]
    service_role = identity.find_role("service") or identity.create_role(name="service")
    roles.append(service_role)
    for name in SERVICE_USERS:
        user = identity.find_user(name, domain_id="default")
        if user is None:
            user = identity.create_user(name=name, domain_id="default",
                                        password=secrets.service,
                                        default_project_id=project.id)
        else:
            identity.update_user(user, password=secrets.service)
        for role in roles:
            identity.assign_project_role_to_user(project, user, role)
    existing = {s.name: s for s in identity.services()}
    endpoints = {(e.service_id, e.interface) for e in identity.endpoints()}
    for name, kind, url in services(plan):
        service = existing.get(name) or identity.create_service(name=name, type=kind)
        for interface in ("public", "internal", "admin"):
            if (service.id, interface) not in endpoints:
                identity.create_endpoint(service_id=service.id, interface=interface,
                                         url=url, region_id=REGION)
    cloud.close()
